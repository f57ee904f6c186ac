//! The multi-part AOF manifest of Redis 7.0 (`<appendfilename>.manifest` in
//! `appenddirname`): which base, incremental and history files make up the AOF.
//!
//! One line per file, base first, then history, then incrementals:
//!
//! ```text
//! file appendonly.aof.2.base.rdb seq 2 type b
//! file appendonly.aof.1.incr.aof seq 1 type h
//! file appendonly.aof.2.incr.aof seq 2 type i
//! ```
//!
//! Parsing follows Redis's `aofLoadManifestFromFile` rule for rule (line length limit,
//! comment lines, `sdssplitargs` quoting, case-insensitive keys, unknown keys ignored,
//! the type taken from the first letter of its value), so a manifest redis-server loads
//! loads here and one it refuses is refused with the same message. Rendering follows
//! `getAofManifestAsString`, byte for byte. The rewrite operations return the next
//! manifest instead of changing one in place: the caller persists it (temp file, fsync,
//! rename) before it adopts it, as Redis does with its duplicated manifest.

use std::fmt;

/// Suffix of base file names, before the format suffix.
pub const BASE_FILE_SUFFIX: &str = ".base";
/// Suffix of incremental file names, before the format suffix.
pub const INCR_FILE_SUFFIX: &str = ".incr";
/// Format suffix of a base written with an RDB preamble (`aof-use-rdb-preamble yes`).
pub const RDB_FORMAT_SUFFIX: &str = ".rdb";
/// Format suffix of command files: incrementals and a base without RDB preamble.
pub const AOF_FORMAT_SUFFIX: &str = ".aof";
/// Suffix of the manifest's name.
pub const MANIFEST_NAME_SUFFIX: &str = ".manifest";
/// Prefix of every temporary file Redis creates in the AOF directory.
pub const TEMP_FILE_NAME_PREFIX: &str = "temp-";
/// Redis reads the manifest with `fgets` into a buffer of this many bytes plus one, so a
/// longer line is refused.
pub const MANIFEST_MAX_LINE: usize = 1024;

/// What a file in the manifest is for (the letter after `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `b`: the snapshot of the last rewrite (RDB preamble or commands).
    Base,
    /// `h`: a base or incremental replaced by a rewrite, waiting to be deleted.
    History,
    /// `i`: commands written since the base, in sequence order.
    Incr,
}

impl FileKind {
    /// The manifest letter.
    pub fn letter(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::History => 'h',
            FileKind::Incr => 'i',
        }
    }

    /// The kind for a manifest letter.
    pub fn from_letter(letter: u8) -> Option<FileKind> {
        match letter {
            b'b' => Some(FileKind::Base),
            b'h' => Some(FileKind::History),
            b'i' => Some(FileKind::Incr),
            _ => None,
        }
    }
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AofFile {
    /// File name inside the AOF directory (never a path).
    pub name: String,
    /// Sequence number (never 0: Redis refuses it).
    pub seq: u64,
    /// What the file is for.
    pub kind: FileKind,
}

/// A whole manifest, as Redis holds it in memory (`aofManifest`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// The base file, if any (at most one).
    pub base: Option<AofFile>,
    /// Incremental files, strictly increasing seq, loaded after the base in this order.
    pub incrs: Vec<AofFile>,
    /// Files replaced by rewrites, newest first as Redis lists them.
    pub history: Vec<AofFile>,
    /// Redis's `curr_base_file_seq`: the seq the last base got. Kept apart from `base`
    /// because Redis numbers from this counter, not from the listed files.
    pub base_seq: u64,
    /// Redis's `curr_incr_file_seq`: the seq the last incremental got. It outlives the
    /// incrementals themselves (a rewrite with AOF off moves them all to history), and
    /// new names are numbered from it so they never collide with a history file not yet
    /// deleted.
    pub incr_seq: u64,
}

/// Why a manifest is refused; the Display texts are Redis's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestErrorKind {
    /// The file has no line at all.
    Empty,
    /// A line has no newline within [`MANIFEST_MAX_LINE`] bytes (this includes a last
    /// line without newline, which Redis refuses too).
    TooLongLine,
    /// A blank line, unbalanced quotes, fewer than 6 or an odd number of words, or a
    /// missing or zero `file`, `seq` or `type`.
    InvalidFormat,
    /// A `file` value containing `/` or `\`.
    PathNotAllowed,
    /// Two `type b` lines.
    DuplicateBase,
    /// An incremental whose seq is not above the previous incremental's.
    NonMonotonicSeq,
    /// A type whose first letter is not `b`, `h` or `i`.
    UnknownType,
    /// Tessera only: a base or history seq Redis would read as negative (`atoll`),
    /// which no Redis ever writes and `u64` cannot hold.
    NegativeSeq,
    /// Tessera only: a file name whose unescaped bytes are not UTF-8.
    NameNotUtf8,
}

impl fmt::Display for ManifestErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ManifestErrorKind::Empty => "Found an empty AOF manifest",
            ManifestErrorKind::TooLongLine => "The AOF manifest file contains too long line",
            ManifestErrorKind::InvalidFormat => "Invalid AOF manifest file format",
            ManifestErrorKind::PathNotAllowed => "File can't be a path, just a filename",
            ManifestErrorKind::DuplicateBase => "Found duplicate base file information",
            ManifestErrorKind::NonMonotonicSeq => "Found a non-monotonic sequence number",
            ManifestErrorKind::UnknownType => "Unknown AOF file type",
            ManifestErrorKind::NegativeSeq => "Invalid AOF manifest file format (negative seq)",
            ManifestErrorKind::NameNotUtf8 => "AOF file name is not valid UTF-8",
        })
    }
}

/// A refused manifest: what is wrong and where, as Redis logs it after
/// `*** FATAL AOF MANIFEST FILE ERROR ***`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (manifest line {line}: '{text}')")]
pub struct ManifestError {
    /// What is wrong.
    pub kind: ManifestErrorKind,
    /// 1-based line number as Redis counts it (each `fgets` call is one line); 0 when
    /// the file as a whole is wrong.
    pub line: usize,
    /// The line, trimmed, as Redis echoes it after `>>>` (lossy for non-UTF-8 bytes).
    pub text: String,
}

/// Redis's first log line for a refused manifest.
pub const FATAL_MANIFEST_MESSAGE: &str = "*** FATAL AOF MANIFEST FILE ERROR ***";
/// Redis's log line naming the refused line (`%d`), followed by `>>> '<line>'`.
pub const MANIFEST_LINE_MESSAGE: &str = "Reading the manifest file, at line %d";
/// Redis's log line for a file the manifest lists but the directory lacks (`%s`: name,
/// then the OS error); loading then fails.
pub const MISSING_FILE_MESSAGE: &str = "The append log file %s doesn't exist: %s";

/// What `loadAppendOnlyFiles` will read, from [`Manifest::plan_load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadPlan {
    /// No base and no incremental (Redis: `AOF_NOT_EXIST`): start empty.
    Nothing,
    /// Every listed file is empty (Redis: `AOF_EMPTY`): start empty.
    Empty,
    /// Load these files in order.
    Files(Vec<LoadFile>),
}

/// One file to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFile {
    /// The manifest's line.
    pub file: AofFile,
    /// Its size on disk.
    pub size: u64,
    /// Only the last file may be repaired by `aof-load-truncated`; a torn tail in an
    /// earlier one fails the load, as in Redis.
    pub truncation_allowed: bool,
}

/// Base file name: `<appendfilename>.<seq>.base.rdb` with an RDB preamble, else
/// `<appendfilename>.<seq>.base.aof`.
pub fn base_file_name(appendfilename: &str, seq: u64, rdb_preamble: bool) -> String {
    let format = if rdb_preamble {
        RDB_FORMAT_SUFFIX
    } else {
        AOF_FORMAT_SUFFIX
    };
    format!("{appendfilename}.{seq}{BASE_FILE_SUFFIX}{format}")
}

/// Incremental file name: `<appendfilename>.<seq>.incr.aof`.
pub fn incr_file_name(appendfilename: &str, seq: u64) -> String {
    format!("{appendfilename}.{seq}{INCR_FILE_SUFFIX}{AOF_FORMAT_SUFFIX}")
}

/// Manifest name: `<appendfilename>.manifest`.
pub fn manifest_file_name(appendfilename: &str) -> String {
    format!("{appendfilename}{MANIFEST_NAME_SUFFIX}")
}

/// The temporary manifest written, fsynced and renamed over the manifest:
/// `temp-<appendfilename>.manifest`.
pub fn temp_manifest_file_name(appendfilename: &str) -> String {
    format!("{TEMP_FILE_NAME_PREFIX}{appendfilename}{MANIFEST_NAME_SUFFIX}")
}

/// The incremental that collects writes while AOF is being switched on at runtime
/// (`AOF_WAIT_REWRITE`), renamed to a real incremental when the rewrite ends:
/// `temp-<appendfilename>.incr`.
pub fn temp_incr_file_name(appendfilename: &str) -> String {
    format!("{TEMP_FILE_NAME_PREFIX}{appendfilename}{INCR_FILE_SUFFIX}")
}

/// What the node must do on start with AOF on, from [`Manifest::open_on_start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPlan {
    /// The manifest to persist before writing.
    pub manifest: Manifest,
    /// A base to write first (an empty dataset's snapshot): only when the manifest had
    /// neither base nor incremental.
    pub create_base: Option<String>,
    /// The incremental to open with O_APPEND|O_CREAT.
    pub incr: String,
    /// Whether `incr` is new (Redis logs "Creating" rather than "Opening").
    pub incr_is_new: bool,
}

/// The AOF state when a rewrite ends, which decides what happens to incrementals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewriteEnd {
    /// AOF on: the last incremental (opened when the rewrite started) stays; the
    /// others go to history.
    AofOn,
    /// AOF off (BGREWRITEAOF with `appendonly no`): every incremental goes to history.
    AofOff,
    /// AOF being switched on (`AOF_WAIT_REWRITE`): the temporary incremental becomes a
    /// new incremental, which stays; the others go to history.
    WaitRewrite,
}

/// The result of [`Manifest::finish_rewrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteDone {
    /// The manifest to persist; once persisted the rewrite is done.
    pub manifest: Manifest,
    /// The name to rename the rewritten temp file to.
    pub base: String,
    /// With [`RewriteEnd::WaitRewrite`]: the name to rename [`temp_incr_file_name`] to.
    pub incr_from_temp: Option<String>,
}

impl Manifest {
    /// Redis's `curr_base_file_seq`: the last base's seq (0 before the first).
    pub fn current_base_seq(&self) -> u64 {
        self.base_seq
    }

    /// The seq the next incremental gets.
    pub fn next_incr_seq(&self) -> u64 {
        self.incr_seq + 1
    }

    /// The seq the next base gets.
    pub fn next_base_seq(&self) -> u64 {
        self.base_seq + 1
    }

    /// The files to load, in order: base, then incrementals.
    pub fn load_order(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(self.incrs.iter())
    }

    /// Whether there is nothing to load (Redis: `AOF_NOT_EXIST`).
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incrs.is_empty()
    }

    /// The files to load, given each listed file's size (`None`: missing). A missing
    /// file fails the load: `Err` holds its manifest line. An empty incremental
    /// among non-empty files is loaded (and yields nothing), as in Redis.
    pub fn plan_load(&self, size_of: impl Fn(&str) -> Option<u64>) -> Result<LoadPlan, AofFile> {
        if self.is_empty() {
            return Ok(LoadPlan::Nothing);
        }
        let mut files = Vec::new();
        for file in self.load_order() {
            let size = size_of(&file.name).ok_or_else(|| file.clone())?;
            files.push(LoadFile {
                file: file.clone(),
                size,
                truncation_allowed: false,
            });
        }
        if files.iter().all(|f| f.size == 0) {
            return Ok(LoadPlan::Empty);
        }
        if let Some(last) = files.last_mut() {
            last.truncation_allowed = true;
        }
        Ok(LoadPlan::Files(files))
    }

    /// Whether Redis would adopt an old single-file AOF (`<appendfilename>` in the data
    /// directory) into the AOF directory with [`Manifest::upgraded_from`]: when that
    /// file exists and the directory does not, or this manifest lists nothing, or it
    /// lists only that file as base and the directory lacks it (an upgrade interrupted
    /// after writing the manifest). `self` is the loaded manifest, or an empty one.
    pub fn needs_upgrade(
        &self,
        appendfilename: &str,
        old_file_exists: bool,
        dir_exists: bool,
        old_file_in_dir_exists: bool,
    ) -> bool {
        old_file_exists
            && (!dir_exists
                || self.is_empty()
                || (self.incrs.is_empty()
                    && self.base.as_ref().is_some_and(|b| b.name == appendfilename)
                    && !old_file_in_dir_exists))
    }

    /// The manifest Redis writes when it adopts an old single-file AOF
    /// (`aofUpgradePrepare`): that file, moved into the directory, as base seq 1.
    pub fn upgraded_from(appendfilename: &str) -> Manifest {
        Manifest {
            base: Some(AofFile {
                name: appendfilename.to_string(),
                seq: 1,
                kind: FileKind::Base,
            }),
            base_seq: 1,
            ..Manifest::default()
        }
    }

    /// `getNewBaseFileNameAndMarkPreAsHistory`: the old base goes to the front of
    /// history and a new base takes the next seq.
    fn push_new_base(&mut self, appendfilename: &str, rdb_preamble: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.kind = FileKind::History;
            self.history.insert(0, old);
        }
        self.base_seq += 1;
        let name = base_file_name(appendfilename, self.base_seq, rdb_preamble);
        self.base = Some(AofFile {
            name: name.clone(),
            seq: self.base_seq,
            kind: FileKind::Base,
        });
        name
    }

    /// `getNewIncrAofName`: a new incremental after the last.
    fn push_new_incr(&mut self, appendfilename: &str) -> String {
        self.incr_seq += 1;
        let name = incr_file_name(appendfilename, self.incr_seq);
        self.incrs.push(AofFile {
            name: name.clone(),
            seq: self.incr_seq,
            kind: FileKind::Incr,
        });
        name
    }

    /// Start with AOF on (`aofOpenIfNeededOnServerStart`): an empty manifest first gets
    /// a base (the empty dataset's snapshot), then the last incremental is reopened, or
    /// a first one created.
    pub fn open_on_start(&self, appendfilename: &str, rdb_preamble: bool) -> StartPlan {
        let mut next = self.clone();
        let create_base = next
            .is_empty()
            .then(|| next.push_new_base(appendfilename, rdb_preamble));
        let (incr, incr_is_new) = match next.incrs.last() {
            Some(last) => (last.name.clone(), false),
            None => (next.push_new_incr(appendfilename), true),
        };
        StartPlan {
            manifest: next,
            create_base,
            incr,
            incr_is_new,
        }
    }

    /// A rewrite starts with AOF on (`openNewIncrAofForAppend`): writes switch to a new
    /// incremental so the rewrite's snapshot and the new writes do not overlap. Returns
    /// the manifest to persist before switching, and the new incremental's name. With
    /// AOF off nothing changes and this is not called; while AOF is being switched on,
    /// writes go to [`temp_incr_file_name`] instead and the manifest does not change.
    pub fn start_rewrite(&self, appendfilename: &str) -> (Manifest, String) {
        let mut next = self.clone();
        let incr = next.push_new_incr(appendfilename);
        (next, incr)
    }

    /// A rewrite succeeded (`backgroundRewriteDoneHandler`): the new base takes the next
    /// base seq, the old base goes to history, and incrementals already contained in
    /// the new base go to history (all but the current one, per `end`).
    pub fn finish_rewrite(
        &self,
        appendfilename: &str,
        rdb_preamble: bool,
        end: RewriteEnd,
    ) -> RewriteDone {
        let mut next = self.clone();
        let base = next.push_new_base(appendfilename, rdb_preamble);
        let incr_from_temp =
            (end == RewriteEnd::WaitRewrite).then(|| next.push_new_incr(appendfilename));
        // Redis walks the incrementals from the newest back, skipping the one being
        // written, and puts each at the head of history: oldest ends up first.
        let keep = match end {
            RewriteEnd::AofOff => 0,
            RewriteEnd::AofOn | RewriteEnd::WaitRewrite => next.incrs.len().min(1),
        };
        let split = next.incrs.len() - keep;
        let rewritten: Vec<AofFile> = next.incrs.drain(..split).collect();
        for mut file in rewritten.into_iter().rev() {
            file.kind = FileKind::History;
            next.history.insert(0, file);
        }
        RewriteDone {
            manifest: next,
            base,
            incr_from_temp,
        }
    }

    /// After a rewrite (`aofDelHistoryFiles`): the manifest without history, to persist
    /// once the returned files are scheduled for deletion. Redis unlinks in the
    /// background and persists right away; a crash in between leaves files nobody
    /// lists, which is harmless.
    pub fn drop_history(&self) -> (Manifest, Vec<AofFile>) {
        let mut next = self.clone();
        let history = std::mem::take(&mut next.history);
        (next, history)
    }

    /// Parses a manifest as Redis 7.0 does; see the module documentation.
    // The name follows the brief's API; `FromStr` is implemented too.
    #[allow(clippy::should_implement_trait)]
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse_bytes(text.as_bytes())
    }

    /// [`Manifest::parse`] over raw bytes, for a file read from disk as is.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let mut manifest = Manifest::default();
        let mut max_incr_seq = 0u64;
        let mut linenum = 0usize;
        let mut rest = bytes;
        while !rest.is_empty() {
            // fgets into a buffer of MANIFEST_MAX_LINE+1 bytes: at most MANIFEST_MAX_LINE
            // bytes per call, up to and including a newline.
            let take = match rest
                .iter()
                .take(MANIFEST_MAX_LINE)
                .position(|&b| b == b'\n')
            {
                Some(i) => i + 1,
                None => rest.len().min(MANIFEST_MAX_LINE),
            };
            let (chunk, tail) = rest.split_at(take);
            rest = tail;
            linenum += 1;
            if chunk[0] == b'#' {
                continue;
            }
            // C strings: the line ends at a NUL byte, newline or not.
            let cstr = &chunk[..chunk.iter().position(|&b| b == 0).unwrap_or(chunk.len())];
            let line = trim(cstr);
            let fail = |kind| ManifestError {
                kind,
                line: linenum,
                text: String::from_utf8_lossy(line).into_owned(),
            };
            if !cstr.contains(&b'\n') {
                // Redis echoes no line for this error: its `line` is not yet set.
                return Err(ManifestError {
                    text: String::new(),
                    ..fail(ManifestErrorKind::TooLongLine)
                });
            }
            if line.is_empty() {
                return Err(fail(ManifestErrorKind::InvalidFormat));
            }
            let argv = match split_args(line) {
                Some(argv) if argv.len() >= 6 && argv.len() % 2 == 0 => argv,
                _ => return Err(fail(ManifestErrorKind::InvalidFormat)),
            };
            let mut name: Option<&[u8]> = None;
            let mut seq = 0i64;
            let mut kind_letter = 0u8;
            for pair in argv.chunks_exact(2) {
                let (key, value) = (&pair[0], &pair[1]);
                if key.eq_ignore_ascii_case(b"file") {
                    // Checked as a C string, like everything else here.
                    let cname = &value[..value.iter().position(|&b| b == 0).unwrap_or(value.len())];
                    if cname.contains(&b'/') || cname.contains(&b'\\') {
                        return Err(fail(ManifestErrorKind::PathNotAllowed));
                    }
                    name = Some(cname);
                } else if key.eq_ignore_ascii_case(b"seq") {
                    seq = atoll(value);
                } else if key.eq_ignore_ascii_case(b"type") {
                    kind_letter = value.first().copied().unwrap_or(0);
                }
                // Other keys are ignored, for forward compatibility, as Redis does.
            }
            let name = match name {
                // An empty name passes, as in Redis (it checks for a missing one).
                Some(n) if seq != 0 && kind_letter != 0 => n,
                _ => return Err(fail(ManifestErrorKind::InvalidFormat)),
            };
            let kind = FileKind::from_letter(kind_letter)
                .ok_or_else(|| fail(ManifestErrorKind::UnknownType))?;
            if seq < 0 {
                // Redis refuses a negative incremental as non-monotonic and keeps a
                // negative base or history seq, which u64 cannot hold.
                return Err(fail(if kind == FileKind::Incr {
                    ManifestErrorKind::NonMonotonicSeq
                } else {
                    ManifestErrorKind::NegativeSeq
                }));
            }
            let seq = seq as u64;
            let name = String::from_utf8(name.to_vec())
                .map_err(|_| fail(ManifestErrorKind::NameNotUtf8))?;
            let file = AofFile { name, seq, kind };
            match kind {
                FileKind::Base => {
                    if manifest.base.is_some() {
                        return Err(fail(ManifestErrorKind::DuplicateBase));
                    }
                    manifest.base = Some(file);
                    manifest.base_seq = seq;
                }
                FileKind::History => manifest.history.push(file),
                FileKind::Incr => {
                    if seq <= max_incr_seq {
                        return Err(fail(ManifestErrorKind::NonMonotonicSeq));
                    }
                    manifest.incrs.push(file);
                    manifest.incr_seq = seq;
                    max_incr_seq = seq;
                }
            }
        }
        if linenum == 0 {
            return Err(ManifestError {
                kind: ManifestErrorKind::Empty,
                line: 0,
                text: String::new(),
            });
        }
        Ok(manifest)
    }
}

impl std::str::FromStr for Manifest {
    type Err = ManifestError;

    fn from_str(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text)
    }
}

/// The text Redis writes: base, then history, then incrementals, one
/// `file <name> seq <n> type <letter>` line each.
impl fmt::Display for Manifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for file in self
            .base
            .iter()
            .chain(self.history.iter())
            .chain(self.incrs.iter())
        {
            write!(f, "file ")?;
            // Redis writes an empty name bare and cannot read that line back;
            // quoted, Redis reads it.
            if file.name.is_empty() || needs_repr(file.name.as_bytes()) {
                f.write_str(&repr(file.name.as_bytes()))?;
            } else {
                f.write_str(&file.name)?;
            }
            writeln!(f, " seq {} type {}", file.seq, file.kind.letter())?;
        }
        Ok(())
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C's `isprint` in the C locale (bytes above 0x7f are not printable).
fn is_c_print(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// `sdstrim(line, " \t\r\n")`.
fn trim(mut s: &[u8]) -> &[u8] {
    let strip = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while s.first().is_some_and(strip) {
        s = &s[1..];
    }
    while s.last().is_some_and(strip) {
        s = &s[..s.len() - 1];
    }
    s
}

/// `sdsneedsrepr`: Redis quotes a name only when this holds. Redis leaves a single
/// quote out of the list, writes such a name bare and then cannot read its own
/// manifest; we quote it too (Redis reads the quoted form), the one place where our
/// output differs from Redis's.
fn needs_repr(s: &[u8]) -> bool {
    s.iter().any(|&b| {
        matches!(
            b,
            b'\\' | b'"' | b'\'' | b'\n' | b'\r' | b'\t' | 0x07 | 0x08
        ) || !is_c_print(b)
            || is_c_space(b)
    })
}

/// `sdscatrepr`: a double-quoted string with C escapes and `\xHH` for the rest.
fn repr(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b if is_c_print(b) => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `sdssplitargs`: words separated by blanks, with double quotes (C escapes, `\xHH`)
/// and single quotes (only `\'`); a closing quote must be followed by a blank or the
/// end. `None` for unbalanced quotes, as Redis.
fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut p = 0;
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    loop {
        while p < line.len() && is_c_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let (mut in_double, mut in_single) = (false, false);
        let mut current = Vec::new();
        loop {
            let c = at(p);
            if in_double {
                if c == 0 {
                    return None;
                }
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && hex_value(at(p + 2)).is_some()
                    && hex_value(at(p + 3)).is_some()
                {
                    let hi = hex_value(at(p + 2)).expect("checked hex digit");
                    let lo = hex_value(at(p + 3)).expect("checked hex digit");
                    current.push(hi * 16 + lo);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == 0 {
                    return None;
                }
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => current.push(c),
                }
            }
            p += 1;
        }
        args.push(current);
    }
}

/// C's `atoll` as glibc implements it (`strtoll`): leading blanks, a sign, digits up
/// to the first non-digit, saturating on overflow; 0 when there are no digits.
fn atoll(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut value: i64 = 0;
    while let Some(d) = s.get(i).filter(|b| b.is_ascii_digit()) {
        let digit = i64::from(d - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(digit)
        } else {
            value.saturating_mul(10).saturating_add(digit)
        };
        i += 1;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by redis-server 7.0.15 (`aof-use-rdb-preamble yes`, two rewrites).
    const SIMPLE: &str = include_str!("../../tests/data/simple.manifest");
    /// Written by redis-server 7.0.15 with `appendfilename "my file.aof"`,
    /// `aof-use-rdb-preamble no`, `aof-disable-auto-gc yes`: a rewrite with AOF on,
    /// one with AOF off, CONFIG SET appendonly yes, and one more rewrite.
    const HISTORY: &str = include_str!("../../tests/data/history.manifest");

    fn file(name: &str, seq: u64, kind: FileKind) -> AofFile {
        AofFile {
            name: name.into(),
            seq,
            kind,
        }
    }

    #[test]
    fn reads_and_rewrites_redis_manifests_byte_for_byte() {
        let m = Manifest::parse(SIMPLE).expect("redis's manifest parses");
        assert_eq!(
            m.base,
            Some(file("appendonly.aof.3.base.rdb", 3, FileKind::Base))
        );
        assert_eq!(
            m.incrs,
            vec![file("appendonly.aof.3.incr.aof", 3, FileKind::Incr)]
        );
        assert_eq!((m.current_base_seq(), m.next_incr_seq()), (3, 4));
        assert_eq!(m.to_string(), SIMPLE);

        let h = Manifest::parse(HISTORY).expect("redis's manifest parses");
        assert_eq!(h.history.len(), 7);
        assert_eq!(
            h.base.as_ref().expect("has a base").name,
            "my file.aof.5.base.aof"
        );
        assert_eq!(h.to_string(), HISTORY);
    }

    /// Replays what redis-server did to produce HISTORY and checks each step yields
    /// the same manifest, in particular the seq counter that outlives incrementals.
    #[test]
    fn rewrite_sequence_matches_redis() {
        let name = "my file.aof";
        let start = Manifest::default().open_on_start(name, false);
        assert_eq!(start.create_base.as_deref(), Some("my file.aof.1.base.aof"));
        assert_eq!(
            (start.incr.as_str(), start.incr_is_new),
            ("my file.aof.1.incr.aof", true)
        );
        // BGREWRITEAOF with AOF on.
        let (m, incr) = start.manifest.start_rewrite(name);
        assert_eq!(incr, "my file.aof.2.incr.aof");
        let done = m.finish_rewrite(name, false, RewriteEnd::AofOn);
        assert_eq!(done.base, "my file.aof.2.base.aof");
        // CONFIG SET appendonly no; BGREWRITEAOF.
        let done = done
            .manifest
            .finish_rewrite(name, false, RewriteEnd::AofOff);
        assert!(done.manifest.incrs.is_empty());
        // CONFIG SET appendonly yes: a rewrite with the temporary incremental.
        let done = done
            .manifest
            .finish_rewrite(name, false, RewriteEnd::WaitRewrite);
        assert_eq!(
            done.incr_from_temp.as_deref(),
            Some("my file.aof.3.incr.aof"),
            "numbered from the counter, not from the (empty) list"
        );
        let (m, _) = done.manifest.start_rewrite(name);
        let done = m.finish_rewrite(name, false, RewriteEnd::AofOn);
        assert_eq!(done.manifest.to_string(), HISTORY);

        let (clean, deleted) = done.manifest.drop_history();
        assert_eq!(deleted.len(), 7);
        assert_eq!(
            clean.to_string(),
            "file \"my file.aof.5.base.aof\" seq 5 type b\nfile \"my file.aof.4.incr.aof\" seq 4 type i\n"
        );
    }

    #[test]
    fn start_reopens_the_last_incr() {
        let m = Manifest::parse(SIMPLE).expect("parses");
        let plan = m.open_on_start("appendonly.aof", true);
        assert_eq!(plan.create_base, None);
        assert_eq!(plan.incr, "appendonly.aof.3.incr.aof");
        assert!(!plan.incr_is_new);
        assert_eq!(plan.manifest, m);
        // A base but no incremental (e.g. after an upgrade): a first incremental.
        let plan = Manifest::upgraded_from("appendonly.aof").open_on_start("appendonly.aof", true);
        assert_eq!(plan.create_base, None);
        assert_eq!(plan.incr, "appendonly.aof.1.incr.aof");
        assert_eq!(
            plan.manifest.to_string(),
            "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
    }

    #[test]
    fn load_plans() {
        let m = Manifest::parse(SIMPLE).expect("parses");
        let sizes = |name: &str| match name {
            "appendonly.aof.3.base.rdb" => Some(121),
            "appendonly.aof.3.incr.aof" => Some(75),
            _ => None,
        };
        let LoadPlan::Files(files) = m.plan_load(sizes).expect("all present") else {
            panic!("files to load");
        };
        assert_eq!(files.len(), 2);
        assert_eq!(
            files
                .iter()
                .map(|f| f.truncation_allowed)
                .collect::<Vec<_>>(),
            vec![false, true]
        );
        let missing = m
            .plan_load(|n: &str| (n != "appendonly.aof.3.incr.aof").then_some(1))
            .expect_err("a listed file is missing");
        assert_eq!(missing.name, "appendonly.aof.3.incr.aof");
        assert_eq!(m.plan_load(|_: &str| Some(0)), Ok(LoadPlan::Empty));
        assert_eq!(
            Manifest::default().plan_load(|_: &str| None),
            Ok(LoadPlan::Nothing)
        );

        let old = "appendonly.aof";
        assert!(Manifest::default().needs_upgrade(old, true, false, false));
        assert!(Manifest::default().needs_upgrade(old, true, true, false));
        assert!(!Manifest::default().needs_upgrade(old, false, false, false));
        let half_done = Manifest::upgraded_from(old);
        assert!(half_done.needs_upgrade(old, true, true, false));
        assert!(!half_done.needs_upgrade(old, true, true, true));
        assert!(!m.needs_upgrade(old, true, true, false));
    }

    #[test]
    fn names() {
        assert_eq!(
            base_file_name("appendonly.aof", 7, true),
            "appendonly.aof.7.base.rdb"
        );
        assert_eq!(
            base_file_name("appendonly.aof", 7, false),
            "appendonly.aof.7.base.aof"
        );
        assert_eq!(
            incr_file_name("appendonly.aof", 8),
            "appendonly.aof.8.incr.aof"
        );
        assert_eq!(manifest_file_name("x"), "x.manifest");
        assert_eq!(temp_manifest_file_name("x"), "temp-x.manifest");
        assert_eq!(temp_incr_file_name("x"), "temp-x.incr");
    }

    #[test]
    fn tolerances_redis_has() {
        let m = Manifest::parse(
            "# a comment\n  FILE  a.1.base.rdb  Type base SEQ 1 future yes  \r\n\
             file 'b c' seq 02x type incr\nfile \"d\\x41\\te\" seq 3 type i extra \"\"\n",
        )
        .expect("parses");
        assert_eq!(m.base, Some(file("a.1.base.rdb", 1, FileKind::Base)));
        assert_eq!(
            m.incrs,
            vec![
                file("b c", 2, FileKind::Incr),
                file("dA\te", 3, FileKind::Incr)
            ]
        );
        // Rendering quotes only where Redis does.
        assert_eq!(
            m.to_string(),
            "file a.1.base.rdb seq 1 type b\nfile \"b c\" seq 2 type i\nfile \"dA\\te\" seq 3 type i\n"
        );
        assert_eq!(Manifest::parse(&m.to_string()).expect("reparses"), m);
        // An empty name and a non-ASCII one pass, and render so they read back.
        let m = Manifest::parse("file \"\" seq 2 type h\nfile \"\\xc3\\xa9\" seq 1 type i\n")
            .expect("parses");
        assert_eq!(m.history[0].name, "");
        assert_eq!(m.incrs[0].name, "é");
        assert_eq!(
            m.to_string(),
            "file \"\" seq 2 type h\nfile \"\\xc3\\xa9\" seq 1 type i\n"
        );
        // A manifest with only history is valid; it just loads nothing.
        assert!(
            Manifest::parse("file x seq 1 type h\n")
                .expect("parses")
                .is_empty()
        );
    }

    #[test]
    fn refusals_match_redis() {
        use ManifestErrorKind::*;
        let long = format!("file {} seq 1 type b\n", "x".repeat(1100));
        let cases: Vec<(&str, ManifestErrorKind, usize)> = vec![
            ("", Empty, 0),
            ("file a seq 1 type b", TooLongLine, 1),
            (&long, TooLongLine, 1),
            ("file a seq 1 type b\n\n", InvalidFormat, 2),
            ("file a seq 1\n", InvalidFormat, 1),
            ("file a seq 1 type b x\n", InvalidFormat, 1),
            ("file \"a seq 1 type b\n", InvalidFormat, 1),
            ("file \"a\"b seq 1 type b\n", InvalidFormat, 1),
            ("file a seq 0 type b\n", InvalidFormat, 1),
            ("file a seq x type b\n", InvalidFormat, 1),
            ("file a seq 1 type \"\"\n", InvalidFormat, 1),
            ("file a/b seq 1 type b\n", PathNotAllowed, 1),
            ("file a\\\\b seq 1 type b\n", PathNotAllowed, 1),
            (
                "file a seq 1 type b\nfile b seq 2 type b\n",
                DuplicateBase,
                2,
            ),
            (
                "file a seq 2 type i\nfile b seq 2 type i\n",
                NonMonotonicSeq,
                2,
            ),
            ("file a seq 1 type x\n", UnknownType, 1),
            ("file a seq -1 type b\n", NegativeSeq, 1),
            ("file a seq -1 type i\n", NonMonotonicSeq, 1),
            ("file a seq -1 type z\n", UnknownType, 1),
            ("file it's seq 1 type b\n", InvalidFormat, 1),
        ];
        for (text, kind, line) in cases {
            let err = Manifest::parse(text).expect_err(text);
            assert_eq!((err.kind, err.line), (kind, line), "{text:?}");
        }
        // The same texts Redis logs.
        assert_eq!(
            ManifestErrorKind::DuplicateBase.to_string(),
            "Found duplicate base file information"
        );
    }

    /// The fuzz target's manifest property over seeded mutations of Redis's files.
    #[test]
    fn mutated_manifests_parse_or_are_refused_and_render_to_a_fixed_point() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        for round in 0..3000 {
            let mut bytes = [SIMPLE, HISTORY][round % 2].as_bytes().to_vec();
            for _ in 0..1 + rand(3) {
                let at = rand(bytes.len());
                match rand(3) {
                    0 => bytes[at] = rand(256) as u8,
                    1 => bytes.insert(at, b" \"'\\#\nx0bhi/"[rand(11)]),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            let Ok(m) = Manifest::parse_bytes(&bytes) else {
                continue;
            };
            let text = m.to_string();
            let again = Manifest::parse(&text).expect("a rendered manifest parses");
            assert_eq!(again.to_string(), text);
            assert_eq!(
                (&again.base, &again.incrs, &again.history),
                (&m.base, &m.incrs, &m.history)
            );
        }
    }

    #[test]
    fn quoting_round_trips_every_byte_but_slashes() {
        for b in 1u8..=0xff {
            if matches!(b, b'/' | b'\\') {
                continue;
            }
            let Ok(name) = String::from_utf8(vec![b'n', b, b'm']) else {
                continue;
            };
            let m = Manifest {
                base: Some(file(&name, 1, FileKind::Base)),
                base_seq: 1,
                ..Manifest::default()
            };
            assert_eq!(
                Manifest::parse(&m.to_string()).expect("reparses"),
                m,
                "byte {b}"
            );
        }
    }
}
