//! The `#!lua flags=...` shebang of an EVAL script.

/// The flags a script declares; a script without a shebang runs in Redis's
/// compatibility mode (`shebang` false), where no flag restricts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// The script has a shebang line.
    pub shebang: bool,
    /// `no-writes`: the script may not write.
    pub no_writes: bool,
    /// `allow-oom`: the script may run while the node is over `maxmemory`.
    pub allow_oom: bool,
    /// `allow-stale`: the script may run on a stale replica.
    pub allow_stale: bool,
    /// `no-cluster`: the script refuses to run in cluster mode.
    pub no_cluster: bool,
    /// `allow-cross-slot-keys`: the script may touch keys of several slots.
    pub allow_cross_slot: bool,
}

/// Parses the shebang of `body`, if any, with Redis's error texts.
pub fn parse_shebang(body: &[u8]) -> Result<ScriptFlags, String> {
    let mut flags = ScriptFlags::default();
    if !body.starts_with(b"#!") {
        return Ok(flags);
    }
    flags.shebang = true;
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".to_string());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {part}"));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" => flags.allow_stale = true,
                "no-cluster" => flags.no_cluster = true,
                "allow-cross-slot-keys" => flags.allow_cross_slot = true,
                other => return Err(format!("ERR Unexpected flag in script shebang: {other}")),
            }
        }
    }
    Ok(flags)
}

/// The body Lua compiles: the shebang line becomes a comment, so line numbers hold.
pub(crate) fn lua_source(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if body.starts_with(b"#!") {
        let mut owned = body.to_vec();
        owned[..2].copy_from_slice(b"--");
        std::borrow::Cow::Owned(owned)
    } else {
        std::borrow::Cow::Borrowed(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_parse_as_redis_does() {
        assert_eq!(parse_shebang(b"return 1").map(|f| f.shebang), Ok(false));
        let f = parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").expect("valid");
        assert!(f.no_writes && f.allow_oom && !f.no_cluster);
        assert_eq!(
            parse_shebang(b"#!lua"),
            Err("ERR Invalid script shebang".into())
        );
        assert_eq!(
            parse_shebang(b"#!luax\n"),
            Err("ERR Unexpected engine in script shebang: #!luax".into())
        );
        assert_eq!(
            parse_shebang(b"#!lua x=1\n"),
            Err("ERR Unknown lua shebang option: x=1".into())
        );
        assert_eq!(
            parse_shebang(b"#!lua flags=bogus\n"),
            Err("ERR Unexpected flag in script shebang: bogus".into())
        );
    }
}
