//! Process-level tests: real `tessera` processes on loopback, driven by real clients.
