//! One connection's CLIENT TRACKING state, kept in its shared record so that the
//! connections that invalidate keys (on their own threads) can read it.

use std::collections::BTreeSet;

/// What CLIENT TRACKING set for one connection (Redis's CLIENT_TRACKING_* flags).
#[derive(Debug, Default, Clone)]
pub struct Mode {
    /// Tracking is on.
    pub on: bool,
    /// REDIRECT: the client id invalidations go to (0: this connection).
    pub redirect: u64,
    /// BCAST: invalidations by prefix, whatever was read.
    pub bcast: bool,
    /// OPTIN: only reads after CLIENT CACHING YES are remembered.
    pub optin: bool,
    /// OPTOUT: reads after CLIENT CACHING NO are not remembered.
    pub optout: bool,
    /// NOLOOP: no invalidation for this connection's own changes.
    pub noloop: bool,
    /// CLIENT CACHING was given for the next command.
    pub caching: bool,
    /// The redirect client was gone when an invalidation was due.
    pub broken: bool,
    /// The BCAST prefixes, in Redis's (byte) order.
    pub prefixes: BTreeSet<Vec<u8>>,
}

impl Mode {
    /// Whether a read by this connection is remembered now (OPTIN, OPTOUT, CACHING).
    pub fn remembers_reads(&self) -> bool {
        self.on && !self.bcast && !((self.optin && !self.caching) || (self.optout && self.caching))
    }

    /// CLIENT LIST's tracking flags: `t`, then `R` for a broken redirect, `B` for BCAST.
    pub fn list_flags(&self) -> &'static str {
        match (self.on, self.broken, self.bcast) {
            (false, _, _) => "",
            (true, false, false) => "t",
            (true, true, false) => "tR",
            (true, false, true) => "tB",
            (true, true, true) => "tRB",
        }
    }

    /// CLIENT LIST's `redir`: the redirect id while tracking, else -1.
    pub fn redir(&self) -> i64 {
        if self.on { self.redirect as i64 } else { -1 }
    }

    /// CLIENT TRACKINGINFO's flags, in Redis's order.
    pub fn info_flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.on { "on" } else { "off" }];
        if self.bcast {
            flags.push("bcast");
        }
        if self.optin {
            flags.push("optin");
            if self.caching {
                flags.push("caching-yes");
            }
        }
        if self.optout {
            flags.push("optout");
            if self.caching {
                flags.push("caching-no");
            }
        }
        if self.noloop {
            flags.push("noloop");
        }
        if self.broken {
            flags.push("broken_redirect");
        }
        flags
    }
}
