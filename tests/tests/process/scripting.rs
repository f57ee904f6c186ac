//! Lua scripting against redis-server 7.0.15: a corpus of EVAL, EVALSHA, EVAL_RO and
//! SCRIPT cases (conversions both ways, `redis.call`/`pcall` errors, sandbox
//! violations, cjson and bit, shebang flags, NOSCRIPT, SCRIPT subcommands, scripts in
//! MULTI) compared reply by reply over RESP2 and RESP3, errors included; the cluster
//! rules of declared and undeclared keys; BUSY and SCRIPT KILL; and a script's
//! effects reaching a replica as one transaction.

use std::io::{Read, Write};
use std::time::Duration;

use super::twins::{Twins, serve_every_slot};
use tessera_resp::frame::Frame;
use tessera_tests::replication::follow;
use tessera_tests::{RawConnection, RedisServer, TesseraNode, text};

/// Each case is one command, its arguments as given.
const CORPUS: &[&[&str]] = &[
    &["FLUSHALL"],
    &["SCRIPT", "FLUSH"],
    // Sandbox: globals, libraries, read-only tables.
    &["EVAL", "return x", "0"],
    &["EVAL", "x = 1", "0"],
    &["EVAL", "print('hi') return 1", "0"],
    &["EVAL", "return os.clock()", "0"],
    &["EVAL", "return io", "0"],
    &["EVAL", "return loadfile", "0"],
    &["EVAL", "return dofile", "0"],
    &["EVAL", "return type(debug)", "0"],
    &["EVAL", "return type(setfenv)", "0"],
    &["EVAL", "return type(getfenv)", "0"],
    &["EVAL", "return type(newproxy)", "0"],
    &["EVAL", "return type(require)", "0"],
    &["EVAL", "return type(loadstring)", "0"],
    &["EVAL", "return type(coroutine)", "0"],
    &["EVAL", "return type(_G)", "0"],
    &["EVAL", "redis.x = 1", "0"],
    &["EVAL", "string.x = 1", "0"],
    &["EVAL", "_G.x = 1", "0"],
    &["EVAL", "rawset(_G, 'x', 1)", "0"],
    &["EVAL", "local f = loadstring('return y') return f()", "0"],
    &["EVAL", "local t = {} t.a = 1 return t.a", "0"],
    &["EVAL", "return ('ab'):rep(3)", "0"],
    &["EVAL", "return string.format('%d-%s', 7, 'x')", "0"],
    &["EVAL", "return table.concat({1, 2, 3}, ',')", "0"],
    // Lua to reply.
    &["EVAL", "return 3.99", "0"],
    &["EVAL", "return -3.99", "0"],
    &["EVAL", "return {1, 2, 3, 'ciao', {1, 2}, nil, 5}", "0"],
    &["EVAL", "return true", "0"],
    &["EVAL", "return false", "0"],
    &["EVAL", "return nil", "0"],
    &["EVAL", "return {true, false, 1}", "0"],
    &["EVAL", "return {err = 'boom'}", "0"],
    &["EVAL", "return {err = '-boom x'}", "0"],
    &["EVAL", "return {ok = 'fine'}", "0"],
    &["EVAL", "return {double = 3.5}", "0"],
    &["EVAL", "return {map = {a = 1}}", "0"],
    &["EVAL", "return {set = {a = true}}", "0"],
    &["EVAL", "return {big_number = '123'}", "0"],
    &["EVAL", "return redis.error_reply('My Error')", "0"],
    &["EVAL", "return redis.error_reply('-My Error')", "0"],
    &["EVAL", "return redis.error_reply('x').err", "0"],
    &["EVAL", "return redis.status_reply('FINE')", "0"],
    &["EVAL", "return redis.sha1hex('')", "0"],
    &["EVAL", "return redis.REDIS_VERSION", "0"],
    &["EVAL", "return redis.REDIS_VERSION_NUM", "0"],
    &["EVAL", "return redis.LOG_WARNING + redis.REPL_ALL", "0"],
    &["EVAL", "return redis.replicate_commands()", "0"],
    &["EVAL", "return redis.breakpoint()", "0"],
    &["EVAL", "redis.log(redis.LOG_NOTICE, 'hello') return 1", "0"],
    &["EVAL", "return redis.log(99, 'x')", "0"],
    &["EVAL", "return redis.set_repl(99)", "0"],
    &["EVAL", "redis.set_repl(redis.REPL_ALL) return 1", "0"],
    &["EVAL", "return redis.setresp(4)", "0"],
    // Errors raised by scripts.
    &["EVAL", "error('x')", "0"],
    &["EVAL", "error({err = 'x'})", "0"],
    &["EVAL", "\n\nerror('third line')", "0"],
    &["EVAL", "syntax error here", "0"],
    &["EVAL", "return 1 end", "0"],
    // redis.call and redis.pcall.
    &["SET", "s", "x"],
    &["EVAL", "return redis.call('nosuch')", "0"],
    &["EVAL", "return redis.call('get')", "0"],
    &["EVAL", "return redis.pcall('get')", "0"],
    &["EVAL", "return redis.call('incr', 's')", "0"],
    &["EVAL", "return redis.pcall('incr', 's')", "0"],
    &[
        "EVAL",
        "local t = redis.pcall('incr', 's') return t.err",
        "0",
    ],
    &["EVAL", "local r = redis.call('incr', 's') return 1", "0"],
    &["EVAL", "return redis.call()", "0"],
    &["EVAL", "return redis.call({})", "0"],
    &["EVAL", "return redis.call('get', {})", "0"],
    &["EVAL", "return redis.call('eval', 'return 1', 0)", "0"],
    &["EVAL", "return redis.call('multi')", "0"],
    &["EVAL", "return redis.pcall('hget', 's', 'f')", "0"],
    &["EVAL", "return redis.pcall('hget', 's', 'f').err", "0"],
    &[
        "EVAL",
        "return redis.call('set', KEYS[1], ARGV[1])",
        "1",
        "k",
        "v",
    ],
    &["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
    &[
        "EVAL",
        "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}",
        "2",
        "a",
        "b",
        "c",
        "d",
    ],
    &["EVAL", "return redis.call('set', 'n', 3.0)", "0"],
    &["EVAL", "return redis.call('get', 'n')", "0"],
    &[
        "EVAL",
        "local t = redis.call('set', 'a', '1') return type(t) .. t.ok",
        "0",
    ],
    &["EVAL", "return redis.call('get', 'nokey')", "0"],
    &["EVAL", "return tostring(redis.call('get', 'nokey'))", "0"],
    &["EVAL", "return redis.call('ping')", "0"],
    &["RPUSH", "l", "a", "b", "c"],
    &["EVAL", "return redis.call('lrange', 'l', 0, -1)", "0"],
    &["HSET", "h", "f", "v"],
    &["EVAL", "return redis.call('hgetall', 'h')", "0"],
    &[
        "EVAL",
        "redis.setresp(3) return redis.call('hgetall', 'h')",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3) return redis.call('hgetall', 'h').map.f",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3) return redis.call('hgetall', 'nokey')",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3) return {redis.call('get', 'nokey')}",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3) return redis.call('exists', 'h')",
        "0",
    ],
    &["EVAL", "redis.setresp(3) return true", "0"],
    &["EVAL", "redis.setresp(3) return false", "0"],
    &[
        "EVAL",
        "redis.call('select', 2) redis.call('set', 'in2', 'x') return 1",
        "0",
    ],
    &["GET", "in2"],
    &["EVAL", "return redis.call('get', 'nokey') == false", "0"],
    // numkeys.
    &["EVAL", "return 1", "-1"],
    &["EVAL", "return 1", "2", "a"],
    &["EVAL", "return 1", "x"],
    &["EVAL", "return 1"],
    // cjson and bit.
    &[
        "EVAL",
        "return cjson.encode({1, 2, 'a/b', {x = true}})",
        "0",
    ],
    &["EVAL", "return cjson.encode({a = 1.5})", "0"],
    &["EVAL", "return cjson.encode({})", "0"],
    &["EVAL", "return cjson.encode({[1] = 1, [5] = 2})", "0"],
    &["EVAL", "return cjson.encode({[1] = 1, [50] = 2})", "0"],
    &["EVAL", "return cjson.encode('q\"\\n\\1')", "0"],
    &["EVAL", "return cjson.encode(0.1)", "0"],
    &["EVAL", "return cjson.encode(1e20)", "0"],
    &["EVAL", "return cjson.encode(function() end)", "0"],
    &[
        "EVAL",
        "return cjson.decode('[1,2,null]')[3] == cjson.null",
        "0",
    ],
    &[
        "EVAL",
        "return cjson.decode('{\"a\":[true,false,\"x\\\\u00e9\"]}').a[3]",
        "0",
    ],
    &["EVAL", "return cjson.decode('{bad')", "0"],
    &["EVAL", "return cjson.decode('[1,2')", "0"],
    &["EVAL", "return cjson.decode('[1] x')", "0"],
    &["EVAL", "return cjson.decode('')", "0"],
    &["EVAL", "return cjson.decode('{\"a\" 1}')", "0"],
    &["EVAL", "return bit.band(0xff, 0x0f)", "0"],
    &["EVAL", "return bit.tohex(255)", "0"],
    &["EVAL", "return bit.tohex(-1, -4)", "0"],
    &[
        "EVAL",
        "return {bit.lshift(1, 4), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.bnot(0)}",
        "0",
    ],
    &["EVAL", "return bit.bxor(5, 3, 1)", "0"],
    // cmsgpack, byte for byte.
    &[
        "EVAL",
        "local s = cmsgpack.pack(1, -1, 200, -200, 70000, -70000, 5000000000, -5000000000, 1.5, 0.1, 'abc', true, false, nil, 1e20, -0.0, -33, -129, 65535, 65536) return {string.byte(s, 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "local s = cmsgpack.pack({1, 2, 3}, {}, {a = 1}, string.rep('x', 40), string.rep('y', 300), {[1] = 1, [3] = 3}) return {string.len(s), string.byte(s, 1, 20)}",
        "0",
    ],
    &[
        "EVAL",
        "local t = {} t[1] = t return string.len(cmsgpack.pack(t))",
        "0",
    ],
    &[
        "EVAL",
        "local t = {} for i = 1, 20 do t[i] = i end return {string.byte(cmsgpack.pack(t), 1, 4)}",
        "0",
    ],
    &[
        "EVAL",
        "return {string.byte(cmsgpack.pack(string.rep('z', 70000)), 1, 5)}",
        "0",
    ],
    &[
        "EVAL",
        "return {cmsgpack.unpack(cmsgpack.pack(1, 2, 'a', {1, {x = 'y'}}))}",
        "0",
    ],
    &[
        "EVAL",
        "local t = cmsgpack.unpack(cmsgpack.pack({k = {1, 2}})) return t.k",
        "0",
    ],
    &["EVAL", "return cmsgpack.unpack('')", "0"],
    &[
        "EVAL",
        "return {cmsgpack.unpack(string.char(0xd9, 2, 65, 66))}",
        "0",
    ],
    &[
        "EVAL",
        "return cmsgpack.unpack(string.char(0xc4, 2, 65, 66))",
        "0",
    ],
    &["EVAL", "return cmsgpack.unpack(string.char(0xc1))", "0"],
    &["EVAL", "return cmsgpack.unpack(string.char(0xa3, 65))", "0"],
    &["EVAL", "return cmsgpack.unpack(string.char(0x92, 1))", "0"],
    &["EVAL", "return cmsgpack.unpack(5)", "0"],
    &["EVAL", "return cmsgpack.unpack({})", "0"],
    &[
        "EVAL",
        "return tostring(cmsgpack.unpack(string.char(0xcf, 255, 255, 255, 255, 255, 255, 255, 255)))",
        "0",
    ],
    &[
        "EVAL",
        "return tostring(cmsgpack.unpack(string.char(0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a)))",
        "0",
    ],
    &[
        "EVAL",
        "return tostring(cmsgpack.unpack(string.char(0xca, 0x3f, 0xc0, 0, 0)))",
        "0",
    ],
    &[
        "EVAL",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 'a'))}",
        "0",
    ],
    &[
        "EVAL",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 'a'), 1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1), 1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
        "0",
    ],
    &[
        "EVAL",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}",
        "0",
    ],
    &[
        "EVAL",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 5)}",
        "0",
    ],
    &[
        "EVAL",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 'x')}",
        "0",
    ],
    &["EVAL", "return {cmsgpack.unpack_one('abc', 1.7)}", "0"],
    &["EVAL", "return cmsgpack.unpack_limit('abc')", "0"],
    &["EVAL", "return cmsgpack.pack()", "0"],
    &["EVAL", "return cmsgpack._VERSION", "0"],
    &["EVAL", "cmsgpack.pack = nil", "0"],
    &[
        "EVAL",
        "local ok, e = pcall(cmsgpack.unpack, string.rep(string.char(0x91), 4000) .. string.char(1)) return {tostring(ok), e}",
        "0",
    ],
    &[
        "EVAL",
        "local ok = pcall(cmsgpack.unpack, string.rep(string.char(0x91), 3999) .. string.char(1)) return tostring(ok)",
        "0",
    ],
    &[
        "EVAL",
        "local ok, e = pcall(cmsgpack.unpack, string.rep(string.char(0x81, 1), 4000) .. string.char(1)) return {tostring(ok), e}",
        "0",
    ],
    // struct, byte for byte.
    &[
        "EVAL",
        "return {string.byte(struct.pack('>i', 1), 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {string.byte(struct.pack('<h', -2), 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {string.byte(struct.pack('bBhHlLTiI', -1, 255, -300, 65535, -5, 7, 9, -70000, 70000), 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {string.byte(struct.pack('!4 b i', 1, 2), 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {string.byte(struct.pack('! b d', 1, 0.5), 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {string.byte(struct.pack('>I3', 0x010203), 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {string.byte(struct.pack('i16', -1), 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return struct.pack('s c3 c0', 'ab', 'xyzw', 'tail')",
        "0",
    ],
    &[
        "EVAL",
        "return {string.byte(struct.pack('>f d', 1.5, -2.25), 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {string.byte(struct.pack('xbx', 7), 1, -1)}",
        "0",
    ],
    &[
        "EVAL",
        "return {struct.unpack('>i', struct.pack('>i', -123456))}",
        "0",
    ],
    &[
        "EVAL",
        "return {struct.unpack('<hH', struct.pack('<hH', -2, 65000))}",
        "0",
    ],
    &[
        "EVAL",
        "return {struct.unpack('s i', struct.pack('s i', 'hello', 42))}",
        "0",
    ],
    &[
        "EVAL",
        "return {struct.unpack('b c0', struct.pack('b c0', 3, 'abc'))}",
        "0",
    ],
    &[
        "EVAL",
        "return {struct.unpack('>I3', struct.pack('>I3', 66051))}",
        "0",
    ],
    &["EVAL", "return {struct.unpack('i', 'abcdefgh', 5)}", "0"],
    &[
        "EVAL",
        "return {tostring(struct.unpack('>d', struct.pack('>d', 0.1)))}",
        "0",
    ],
    &[
        "EVAL",
        "return {tostring(struct.unpack('f', struct.pack('f', 0.1)))}",
        "0",
    ],
    &["EVAL", "return struct.unpack('i', 'ab')", "0"],
    &["EVAL", "return struct.unpack('i', 'abcd', 0)", "0"],
    &["EVAL", "return struct.unpack('s', 'abc')", "0"],
    &["EVAL", "return struct.unpack('c0', 'abc')", "0"],
    &["EVAL", "return struct.pack('z', 1)", "0"],
    &["EVAL", "return struct.pack('i33', 1)", "0"],
    &["EVAL", "return struct.pack('!3 i', 1)", "0"],
    &["EVAL", "return struct.pack('c5', 'ab')", "0"],
    &["EVAL", "return struct.pack('i', 'x')", "0"],
    &["EVAL", "return struct.pack('i')", "0"],
    &["EVAL", "return struct.pack()", "0"],
    &[
        "EVAL",
        "return {struct.size('i'), struct.size('!8 b d'), struct.size('bhi'), struct.size('c10'), struct.size('>!4 b l')}",
        "0",
    ],
    &["EVAL", "return struct.size('s')", "0"],
    &["EVAL", "return struct.size('c0')", "0"],
    &["EVAL", "return struct.size('q')", "0"],
    // What a script's pcall and xpcall catch from the libraries and redis.call.
    &[
        "EVAL",
        "local ok, e = pcall(redis.call, 'nosuch') return {type(e), e}",
        "0",
    ],
    &[
        "EVAL",
        "local ok, e = pcall(redis.call, 'incr', 'x', 'y') return {type(e), e}",
        "0",
    ],
    &[
        "EVAL",
        "local ok, e = pcall(cjson.decode, '{bad') return {tostring(ok), e}",
        "0",
    ],
    &[
        "EVAL",
        "local ok, e = pcall(cmsgpack.unpack, string.char(0xc1)) return {type(e), e}",
        "0",
    ],
    &[
        "EVAL",
        "local ok, e = pcall(function() return cmsgpack.unpack(string.char(0xc1)) end) return {type(e), e}",
        "0",
    ],
    &[
        "EVAL",
        "local ok, e = pcall(function()\n local x = 1\n cjson.decode('[') end) return e",
        "0",
    ],
    &[
        "EVAL",
        "local ok, e = pcall(error, 'boom') return {type(e), e}",
        "0",
    ],
    &[
        "EVAL",
        "local ok, e = pcall(error, {err = 'mine'}) return {type(e), e}",
        "0",
    ],
    &[
        "EVAL",
        "local ok, e = pcall(function() error('inner') end) return e",
        "0",
    ],
    &[
        "EVAL",
        "return {xpcall(function() redis.call('nosuch') end, function(e) return e.err end)}",
        "0",
    ],
    &[
        "EVAL",
        "return {xpcall(function() error('x') end, function(e) return e end)}",
        "0",
    ],
    &[
        "EVAL",
        "local ok, a, b = pcall(function(x, y) return y, x end, 1, 2) return {tostring(ok), a, b}",
        "0",
    ],
    &[
        "EVAL",
        "return {xpcall(function() redis.call('nosuch') end, function(e) return 'handled: ' .. e end)}",
        "0",
    ],
    &[
        "EVAL",
        "return {xpcall(function() cjson.decode('x') end, function(e) return 'handled: ' .. e end)}",
        "0",
    ],
    &[
        "EVAL",
        "return select('#', cmsgpack.unpack(string.rep(string.char(1), 8000)))",
        "0",
    ],
    &[
        "EVAL",
        "math.randomseed(7) return {tostring(math.random()), math.random(10), math.random(5, 9)}",
        "0",
    ],
    &["EVAL", "return math.random(0)", "0"],
    // Shebang flags.
    &["EVAL", "#!lua\nerror('x')", "0"],
    &["EVAL", "#!lua\nreturn redis.call('set', 'sb', '1')", "0"],
    &[
        "EVAL",
        "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')",
        "0",
    ],
    &[
        "EVAL",
        "#!lua flags=no-writes\nreturn redis.call('get', 'sb')",
        "0",
    ],
    &[
        "EVAL",
        "#!lua flags=no-writes,allow-oom,allow-stale\nreturn 1",
        "0",
    ],
    &["EVAL", "#!lua flags=no-cluster\nreturn 1", "0"],
    &["EVAL", "#!lua flags=bogus\nreturn 1", "0"],
    &["EVAL", "#!luax\nreturn 1", "0"],
    &["EVAL", "#!lua x=1\nreturn 1", "0"],
    &["EVAL", "#!lua", "0"],
    &["EVAL_RO", "return redis.call('set', 'a', 'b')", "0"],
    &["EVAL_RO", "return redis.call('get', 'sb')", "0"],
    // The cache.
    &["SCRIPT", "LOAD", "return 'loaded'"],
    &["SCRIPT", "LOAD", "x y"],
    &[
        "SCRIPT",
        "EXISTS",
        "f9dd46ac8d7cd6a8d7d7d3b5b3a47aa3ad3b7bb1",
        "nope",
    ],
    &["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
    &["EVALSHA", "abc", "0"],
    &["EVAL", "return 'cached'", "0"],
    &["EVALSHA", "5bff0b4f5d1a2ddc9b1a5a5ed0db5e8cd0e1c1bd", "0"],
    &[
        "EVALSHA_RO",
        "ffffffffffffffffffffffffffffffffffffffff",
        "0",
    ],
    &["SCRIPT", "FLUSH", "x"],
    &["SCRIPT", "FLUSH", "ASYNC"],
    &["SCRIPT", "FLUSH", "SYNC"],
    &["SCRIPT", "KILL"],
    &["SCRIPT", "HELP"],
    &["SCRIPT", "DEBUG", "NO"],
    &["SCRIPT", "DEBUG", "x"],
    &["SCRIPT", "NOSUCH"],
    &["SCRIPT"],
    // Scripts inside MULTI.
    &["MULTI"],
    &["EVAL", "return redis.call('incr', KEYS[1])", "1", "c"],
    &["EVAL", "return redis.call('incr', KEYS[1])", "1", "c"],
    &["EVAL", "return redis.call('nosuch')", "0"],
    &["EXEC"],
    &["GET", "c"],
];

fn run_corpus(t: &mut Twins) {
    for case in CORPUS {
        let args: Vec<&[u8]> = case.iter().map(|a| a.as_bytes()).collect();
        t.exact(&args);
    }
    // EVALSHA of what SCRIPT LOAD answered, and of EVAL's own SHA.
    for body in ["return 'loaded'", "return 'cached'"] {
        let (want, have) = t.both(&[b"SCRIPT", b"LOAD", body.as_bytes()]);
        assert_eq!(want, have, "SCRIPT LOAD {body}");
        let Frame::Bulk(sha) = want else {
            panic!("SCRIPT LOAD answered {want:?}")
        };
        t.exact(&[b"EVALSHA", &sha, b"0"]);
        t.exact(&[b"EVALSHA", sha.to_ascii_uppercase().as_slice(), b"0"]);
        t.exact(&[b"SCRIPT", b"EXISTS", &sha]);
    }
}

#[test]
fn scripts_match_redis() {
    let redis = RedisServer::start(&[]);
    let tessera = TesseraNode::start(&[]);
    let mut t = Twins::connect(redis.port, tessera.port);
    for proto in [0, 1] {
        t.proto = proto;
        run_corpus(&mut t);
        t.assert_clean(&format!("scripting corpus, RESP{}", proto + 2));
    }
    // Outside cluster mode a script reaches keys it did not declare, as in Redis: its
    // locks grow as it reaches them, restarting it when it had no effect yet.
    for (body, numkeys) in [
        ("return redis.call('get', 'b')", "1"),
        ("return redis.call('dbsize')", "1"),
        ("return redis.call('dbsize')", "0"),
        (
            "redis.call('set', 'u1', 'x'); return redis.call('mget', 'u1', 'u2', 'a')",
            "0",
        ),
        (
            "local n = #redis.call('keys', 'u*'); return {n, redis.call('incr', 'u3')}",
            "1",
        ),
        (
            "redis.call('select', 3); redis.call('set', 'in3', 'v'); return redis.call('get', 'in3')",
            "0",
        ),
        (
            "redis.call('select', 4); return redis.call('get', 'in4')",
            "1",
        ),
        (
            "for i = 1, 50 do redis.call('set', 'spread' .. i, i) end return redis.call('get', 'spread7')",
            "1",
        ),
    ] {
        t.exact(&[b"EVAL", body.as_bytes(), numkeys.as_bytes(), b"a"]);
    }
    // Beyond Redis: a command over every slot after the script changed data would
    // take every lock out of order, so it is refused (it works as the first one).
    let body = "redis.call('set', 'a', '1'); return redis.call('dbsize')";
    let have = text(&t.tessera_only(&[b"EVAL", body.as_bytes(), b"1", b"a"]));
    let want = "ERR Script attempted a command that needs every slot after it changed data";
    assert!(have.starts_with(want), "{body}: {have}");
    t.assert_clean("undeclared keys outside cluster mode");
    // Over maxmemory (one byte, noeviction): a script without a shebang may run, but
    // its deny-oom calls are refused until it wrote; allow-oom lifts that.
    t.exact(&[b"SET", b"oom:a", b"1"]);
    t.exact(&[b"CONFIG", b"SET", b"maxmemory", b"1"]);
    for body in [
        "return redis.call('set', 'oom:b', '2')",
        "return redis.pcall('set', 'oom:b', '2')",
        "return redis.call('get', 'oom:a')",
        "redis.call('del', 'oom:a'); return redis.call('set', 'oom:b', '2')",
        "#!lua flags=no-writes\nreturn redis.call('get', 'oom:b')",
        "#!lua\nreturn redis.call('get', 'oom:b')",
        "#!lua flags=allow-oom\nreturn redis.call('set', 'oom:c', '1')",
    ] {
        t.exact(&[b"EVAL", body.as_bytes(), b"0"]);
    }
    t.exact(&[b"EVAL_RO", b"return redis.call('get', 'oom:c')", b"0"]);
    t.exact(&[b"CONFIG", b"SET", b"maxmemory", b"0"]);
    t.assert_clean("scripts over maxmemory");
}

/// Cluster mode: declared keys must share a slot, undeclared keys must be in the
/// script's slot and served here, `no-cluster` scripts are refused.
#[test]
fn scripts_keep_to_one_slot_in_a_cluster() {
    let args = ["--cluster-enabled", "yes"];
    let redis = RedisServer::start(&args);
    let tessera = TesseraNode::start(&args);
    for port in [redis.port, tessera.port] {
        serve_every_slot(port);
    }
    let mut t = Twins::connect(redis.port, tessera.port);
    let cases: &[&[&str]] = &[
        &[
            "EVAL",
            "return redis.call('set', KEYS[1], '1')",
            "1",
            "{a}x",
        ],
        &["EVAL", "return 1", "2", "a", "b"],
        &["EVAL", "return redis.call('get', '{a}y')", "1", "{a}x"],
        &[
            "EVAL",
            "redis.call('get', 'a') return redis.call('get', 'b')",
            "0",
        ],
        &["EVAL", "return redis.pcall('mget', 'a', 'b')", "0"],
        &["EVAL", "#!lua flags=no-cluster\nreturn 1", "0"],
        &[
            "EVAL",
            "#!lua flags=allow-cross-slot-keys\nredis.call('set', 'a', 1) return redis.call('set', 'b', 2)",
            "0",
        ],
        &["MGET", "{a}x", "{a}y"],
    ];
    for proto in [0, 1] {
        t.proto = proto;
        for case in cases {
            let args: Vec<&[u8]> = case.iter().map(|a| a.as_bytes()).collect();
            t.exact(&args);
        }
    }
    t.assert_clean("cluster scripting");
    // Beyond Redis 7.0 (as 7.2): a script holds only its declared keys' slot, so it
    // may not reach another slot's keys.
    let refused = t.tessera_only(&[b"EVAL", b"return redis.call('get', 'b')", b"1", b"{a}x"]);
    assert!(
        text(&refused).starts_with(
            "ERR Script attempted to access keys that do not hash to the same slot script: "
        ),
        "{refused:?}"
    );
}

/// A connection to `port` served by another connection thread than the one running a
/// script: its PING is answered (with BUSY) instead of waiting for the script.
pub(crate) fn free_thread_connection(port: u16) -> std::net::TcpStream {
    loop {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        s.write_all(b"PING\r\n").expect("send");
        let mut buf = [0u8; 256];
        if let Ok(n) = s.read(&mut buf) {
            if buf[..n].starts_with(b"-BUSY") {
                s.set_read_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
                return s;
            }
        }
        // Served after the script or not yet busy: try another connection.
    }
}

pub(crate) fn ask(s: &mut std::net::TcpStream, line: &str) -> String {
    s.write_all(format!("{line}\r\n").as_bytes()).expect("send");
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).expect("reply");
    String::from_utf8_lossy(&buf[..n]).trim_end().to_string()
}

#[test]
fn busy_scripts_and_script_kill() {
    let mut tessera = TesseraNode::start(&[]);
    let mut admin = tessera.raw();
    admin
        .command(&["CONFIG", "SET", "lua-time-limit", "100"])
        .expect("CONFIG SET");
    assert_eq!(
        text(
            &admin
                .command(&["CONFIG", "GET", "busy-reply-threshold"])
                .expect("GET")
        ),
        text(&Frame::Array(vec![
            Frame::Bulk(b"busy-reply-threshold".to_vec()),
            Frame::Bulk(b"100".to_vec())
        ]))
    );
    drop(admin);
    let mut runner = tessera.raw();
    let body = "local i = 0 while true do i = i + 1 end";
    runner
        .send(&tessera_resp::frame::Frame::command([
            &b"EVAL"[..],
            body.as_bytes(),
            b"0",
        ]))
        .expect("send");
    let mut other = free_thread_connection(tessera.port);
    assert_eq!(
        ask(&mut other, "GET x"),
        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(ask(&mut other, "SCRIPT KILL"), "+OK");
    let killed = text(&runner.read_frame().expect("the script's reply"));
    assert!(
        killed.contains("Script killed by user with SCRIPT KILL... script: ")
            && killed.contains("on @user_script:1."),
        "{killed}"
    );
    assert_eq!(text(&runner.command(&["PING"]).expect("PING")), "PONG");
    // A script that wrote cannot be killed; SHUTDOWN NOSAVE still stops the node.
    let body = "redis.call('set', 'w', '1') while true do end";
    runner
        .send(&tessera_resp::frame::Frame::command([
            &b"EVAL"[..],
            body.as_bytes(),
            b"0",
        ]))
        .expect("send");
    let mut other = free_thread_connection(tessera.port);
    assert!(ask(&mut other, "SCRIPT KILL").starts_with("-UNKILLABLE Sorry the script"));
    assert!(ask(&mut other, "SHUTDOWN").starts_with("-BUSY"));
    other.write_all(b"SHUTDOWN NOSAVE\r\n").expect("send");
    assert!(
        tessera.wait_exit(Duration::from_secs(10)).is_some(),
        "SHUTDOWN NOSAVE stops a busy node"
    );
}

/// A script's writes reach replicas (a Tessera one and a redis-server one) as the
/// commands it ran, in one MULTI/EXEC block, never as the EVAL: math.random differs
/// per node, and the replicas hold the value the master wrote.
#[test]
fn script_effects_reach_replicas() {
    let master = TesseraNode::start(&[]);
    let replica = TesseraNode::start(&[]);
    let redis_replica = RedisServer::start(&["--repl-diskless-sync-delay", "0"]);
    follow(replica.port, master.port);
    follow(redis_replica.port, master.port);
    let mut m = master.raw();
    let body = "redis.call('set', KEYS[1], tostring(math.random())) \
                redis.call('incr', KEYS[2]) return redis.call('get', KEYS[1])";
    let mut last = Frame::Null;
    for _ in 0..3 {
        last = m
            .command(&["EVAL", body, "2", "{k}r", "{k}n"])
            .expect("EVAL");
    }
    assert_eq!(
        m.command(&["WAIT", "2", "5000"]).expect("WAIT"),
        Frame::Integer(2)
    );
    for port in [replica.port, redis_replica.port] {
        let mut r = RawConnection::connect(port).expect("connect");
        assert_eq!(
            r.command(&["GET", "{k}n"]).expect("GET"),
            Frame::Bulk(b"3".to_vec())
        );
        assert_eq!(r.command(&["GET", "{k}r"]).expect("GET"), last);
    }
}

#[test]
fn redis_log_writes_to_the_server_log_at_its_level() {
    let node = TesseraNode::start(&[]);
    let mut c = node.raw();
    let script = "redis.log(redis.LOG_WARNING, 'warned', 'by', 42, {}, 'script', 1.5) \
                  redis.log(redis.LOG_DEBUG, 'too quiet to show') return 1";
    assert_eq!(
        c.command(&["EVAL", script, "0"]).expect("EVAL"),
        Frame::Integer(1)
    );
    // The arguments joined by spaces, a table left out, as redis-server writes it.
    assert!(
        tessera_tests::wait_until(Duration::from_secs(5), || node
            .log()
            .contains("warned by 42 script 1.5")),
        "{}",
        node.log()
    );
    assert!(
        !node.log().contains("too quiet to show"),
        "below loglevel notice"
    );
}

/// Outside cluster mode, scripts that reach keys they did not declare (with and
/// without declared keys, and inside EXEC) run concurrently with multi-slot commands on
/// the same slots: none waits forever, and every script ran exactly once, as one step.
#[test]
fn undeclared_keys_under_concurrency() {
    const ROUNDS: usize = 300;
    let tessera = TesseraNode::start(&[]);
    let port = tessera.port;
    let count = |c: &mut RawConnection, key: &str| match c.command(&["GET", key]) {
        Ok(Frame::Bulk(b)) => String::from_utf8_lossy(&b).parse::<usize>().expect("count"),
        other => panic!("GET {key}: {other:?}"),
    };
    let workers: Vec<_> = (0..4)
        .map(|w| {
            std::thread::spawn(move || {
                let mut c = RawConnection::connect(port).expect("connect");
                for i in 0..ROUNDS {
                    let key = format!("own:{w}:{}", i % 17);
                    let reply = match w {
                        // Declared key, then undeclared ones, one written before the
                        // others are reached (no restart possible then).
                        0 => c.command(&[
                            "EVAL",
                            "redis.call('incr', KEYS[1]); redis.call('incr', 'total'); \
                             return redis.call('rpush', 'log', ARGV[1])",
                            "1",
                            &key,
                            "x",
                        ]),
                        // No declared key.
                        1 => c.command(&[
                            "EVAL",
                            "local t = redis.call('get', 'total'); redis.call('incr', 'total'); \
                             return redis.call('rpush', 'log', t or '0')",
                            "0",
                        ]),
                        // Multi-slot commands taking the scripts' slots in order
                        // ({total} and {log} hash where total and log do).
                        2 => c.command(&["MSET", "{total}m", "1", "{log}m", "1", &key, "1"]),
                        // EXEC around a script: the engine before the slots.
                        _ => {
                            c.command(&["MULTI"]).expect("MULTI");
                            c.command(&[
                                "EVAL",
                                "redis.call('incr', 'total'); return redis.call('rpush', 'log', 'm')",
                                "0",
                            ])
                            .expect("queued");
                            c.command(&["EXEC"])
                        }
                    };
                    let reply = reply.unwrap_or_else(|e| panic!("worker {w} round {i}: {e}"));
                    assert!(!matches!(reply, Frame::Error(_)), "worker {w}: {reply:?}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker failed");
    }
    let mut c = RawConnection::connect(port).expect("connect");
    assert_eq!(count(&mut c, "total"), 3 * ROUNDS);
    assert_eq!(
        c.command(&["LLEN", "log"]).expect("LLEN"),
        Frame::Integer(3 * ROUNDS as i64)
    );
}
