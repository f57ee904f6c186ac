"""A client of Tessera's admin API generated from its .proto files by Python's
grpcio-tools: proof that the API is a contract another toolchain can use.

Usage: admin_client.py PROTO_DIR ADMIN_PORT PASSWORD CLIENT_PORT
Prints one "ok <check>" line per check; exits non-zero on the first failure.
"""

import importlib
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


def generate(proto_dir, out_dir):
    proto = "tessera/admin/v1/admin.proto"
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    code = protoc.main(
        ["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out_dir}",
         f"--grpc_python_out={out_dir}", proto]
    )
    if code != 0:
        sys.exit(f"protoc failed with {code}")
    sys.path.insert(0, out_dir)
    return (importlib.import_module("tessera.admin.v1.admin_pb2"),
            importlib.import_module("tessera.admin.v1.admin_pb2_grpc"))


def expect_code(code, call):
    try:
        call()
    except grpc.RpcError as e:
        if e.code() != code:
            sys.exit(f"expected {code}, got {e.code()}: {e.details()}")
        return e.details()
    sys.exit(f"expected {code}, the call succeeded")


def main():
    proto_dir, admin_port, password, client_port = sys.argv[1:5]
    with tempfile.TemporaryDirectory() as out:
        pb, rpc = generate(proto_dir, out)
        channel = grpc.insecure_channel(f"127.0.0.1:{admin_port}")
        stub = rpc.AdminStub(channel)
        auth = [("authorization", f"Bearer {password}")]

        details = expect_code(grpc.StatusCode.UNAUTHENTICATED,
                              lambda: stub.GetNode(pb.GetNodeRequest()))
        print("ok unauthenticated without the password:", details)
        expect_code(grpc.StatusCode.UNAUTHENTICATED,
                    lambda: stub.GetNode(pb.GetNodeRequest(),
                                         metadata=[("authorization", "Bearer wrong")]))
        print("ok unauthenticated with a wrong password")

        node = stub.GetNode(pb.GetNodeRequest(), metadata=auth)
        assert len(node.id) == 40, node
        assert node.port == int(client_port), node
        assert node.admin_port == int(admin_port), node
        assert node.role == "master" and node.cluster_enabled, node
        print("ok GetNode", node.id)

        topology = stub.GetTopology(pb.GetTopologyRequest(), metadata=auth)
        assert topology.myself == node.id, topology
        assert [n.id for n in topology.nodes] == [node.id], topology
        print("ok GetTopology")

        reply = stub.AddSlots(pb.SlotsRequest(ranges=[pb.SlotRange(first=0, last=99)]),
                              metadata=auth)
        assert reply.message == "OK", reply
        topology = stub.GetTopology(pb.GetTopologyRequest(), metadata=auth)
        me = topology.nodes[0]
        assert [(r.first, r.last) for r in me.slots] == [(0, 99)], me
        assert me.slot_count == 100, me
        print("ok AddSlots then GetTopology shows the slots")

        info = stub.GetClusterInfo(pb.GetClusterInfoRequest(), metadata=auth)
        assert info.slots_assigned == 100 and info.fields["cluster_slots_assigned"] == "100", info
        print("ok GetClusterInfo")

        config = stub.GetConfig(pb.GetConfigRequest(pattern="admin-port"), metadata=auth)
        assert config.values["admin-port"] == admin_port, config
        print("ok GetConfig")

        counts = stub.CountKeys(pb.CountKeysRequest(ranges=[pb.SlotRange(first=0, last=99)]),
                                metadata=auth)
        assert counts.total == 0 and len(counts.counts) == 1, counts
        print("ok CountKeys")

        details = expect_code(grpc.StatusCode.NOT_FOUND,
                              lambda: stub.Forget(pb.ForgetRequest(node_id="f" * 40),
                                                  metadata=auth))
        print("ok NOT_FOUND for an unknown node:", details)
        details = expect_code(grpc.StatusCode.INVALID_ARGUMENT,
                              lambda: stub.AddSlots(pb.SlotsRequest(
                                  ranges=[pb.SlotRange(first=10, last=20000)]), metadata=auth))
        print("ok INVALID_ARGUMENT for a bad range:", details)
        details = expect_code(grpc.StatusCode.FAILED_PRECONDITION,
                              lambda: stub.AddSlots(pb.SlotsRequest(
                                  ranges=[pb.SlotRange(first=5, last=5)]), metadata=auth))
        print("ok FAILED_PRECONDITION for a busy slot:", details)
        details = expect_code(grpc.StatusCode.NOT_FOUND,
                              lambda: list(stub.MoveSlots(pb.MoveSlotsRequest(
                                  ranges=[pb.SlotRange(first=0, last=9)], target_id="e" * 40),
                                  metadata=auth)))
        print("ok MoveSlots to an unknown node:", details)

        health = health_pb2_grpc.HealthStub(channel)
        status = health.Check(health_pb2.HealthCheckRequest(service="tessera.admin.v1.Admin"))
        assert status.status == health_pb2.HealthCheckResponse.SERVING, status
        print("ok health SERVING")

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = [s.name for a in answers for s in a.list_services_response.service]
        assert "tessera.admin.v1.Admin" in names, names
        print("ok reflection lists", ", ".join(sorted(names)))


if __name__ == "__main__":
    main()
