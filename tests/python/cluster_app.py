"""A small application on redis-py's RedisCluster, run by the process test
`collections_app::a_redis_py_application_runs_through_a_reshard`.

It keeps user sessions in hashes, a job queue in lists, a leaderboard in a sorted set
and tags in sets, and mirrors every acknowledged write in a local model. It prints
"ready" once its data exists, keeps working until a line arrives on stdin (the test
moves slots meanwhile), then checks that the cluster holds exactly the model and
prints "ok <operations>".

usage: cluster_app.py <port> <slot-limit>
The queue and the leaderboard get hash tags whose slots are below <slot-limit>, the
range the test moves, so they certainly migrate.
"""

import random
import select
import sys

from redis.cluster import RedisCluster, key_slot

port, limit = int(sys.argv[1]), int(sys.argv[2])
rc = RedisCluster(host="127.0.0.1", port=port, decode_responses=True)
rng = random.Random(13)


def tag_below(prefix):
    """A hash tag `prefix<i>` whose slot is below the moved range's end."""
    i = 0
    while key_slot(f"{prefix}{i}".encode()) >= limit:
        i += 1
    return f"{prefix}{i}"


app = tag_below("app")
queue, processing = f"queue:{{{app}}}", f"processing:{{{app}}}"
board = f"leaderboard:{{{app}}}"
sessions = {}  # key -> dict
tags = {}  # key -> set
jobs, taken = [], []  # queue contents (head first), processing list (head first)
scores = {}  # player -> float
next_job = 0


def session_key(u):
    return f"session:{u}"


def write_session(u):
    k = session_key(u)
    s = sessions.setdefault(k, {})
    fields = {"user": f"u{u}", "ip": f"10.0.{u % 256}.{rng.randrange(256)}"}
    rc.hset(k, mapping=fields)
    s.update(fields)
    visits = rc.hincrby(k, "visits", 1)
    assert visits == int(s.get("visits", "0")) + 1, (k, visits, s)
    s["visits"] = str(visits)


def push_job():
    global next_job
    job = f"job-{next_job}:" + "p" * (next_job % 50)
    next_job += 1
    rc.lpush(queue, job)
    jobs.append(job)  # LPUSH adds at the head; the tail is the oldest


def take_job():
    # RPOPLPUSH-like move of the oldest job to the processing list.
    got = rc.lmove(queue, processing, "RIGHT", "LEFT")
    want = jobs.pop(0) if jobs else None
    assert got == want, f"queue gave {got!r}, expected {want!r}"
    if got is not None:
        taken.insert(0, got)


def finish_job():
    if taken:
        job = taken[-1]
        assert rc.lrem(processing, -1, job) == 1, job
        taken.pop()


def score():
    p = f"player{rng.randrange(60)}"
    inc = rng.choice([1, 2, 5, 0.5, -1])
    got = float(rc.zincrby(board, inc, p))
    scores[p] = scores.get(p, 0) + inc
    assert abs(got - scores[p]) < 1e-9, (p, got, scores[p])


def tag():
    k = f"tags:item{rng.randrange(80)}"
    t = f"t{rng.randrange(12)}"
    s = tags.setdefault(k, set())
    if t in s and rng.random() < 0.4:
        assert rc.srem(k, t) == 1
        s.discard(t)
        if not s:
            del tags[k]
    else:
        assert rc.sadd(k, t) == (0 if t in s else 1)
        s.add(t)


def expire_session():
    if sessions:
        k = rng.choice(sorted(sessions))
        assert rc.delete(k) == 1
        del sessions[k]


def step():
    r = rng.random()
    if r < 0.3:
        write_session(rng.randrange(300))
    elif r < 0.45:
        push_job()
    elif r < 0.55:
        take_job()
    elif r < 0.6:
        finish_job()
    elif r < 0.8:
        score()
    elif r < 0.98:
        tag()
    else:
        expire_session()


def jobs_in_redis_order():
    # The model keeps the oldest job first; LPUSH puts the newest at index 0.
    return list(reversed(jobs))


def verify():
    for k, s in sessions.items():
        got = rc.hgetall(k)
        assert got == s, (k, got, s)
    for k, s in tags.items():
        assert rc.smembers(k) == s, (k, rc.smembers(k), s)
    assert rc.lrange(queue, 0, -1) == jobs_in_redis_order(), "queue contents"
    assert rc.lrange(processing, 0, -1) == taken, "processing contents"
    got = rc.zrange(board, 0, -1, withscores=True)
    want = sorted(((p, float(v)) for p, v in scores.items()), key=lambda x: (x[1], x[0]))
    assert got == want, (got, want)
    expected = set(sessions) | set(tags) | {board}
    if jobs:
        expected.add(queue)
    if taken:
        expected.add(processing)
    found = set(rc.scan_iter(count=1000))
    assert found == expected, (sorted(found - expected), sorted(expected - found))


for _ in range(2000):
    step()
verify()
print("ready", flush=True)
ops = 2000
while True:
    for _ in range(50):
        step()
    ops += 50
    if select.select([sys.stdin], [], [], 0)[0]:
        break
verify()
print(f"ok {ops}", flush=True)
