"""Wire compatibility of our .proto files with Triton's, as bundled in tritonclient.

Compiles proto/src/main/proto/{grpc_service,model_config}.proto with grpcio-tools into a
descriptor set (no Python modules are imported, so they never clash with tritonclient's
files of the same names in the default descriptor pool) and checks, for everything WE define:
  - every message exists in Triton's with the same full name; every field has a Triton
    field with the same number, name, type, label, type name (message/enum fields) and oneof;
  - every enum exists with the same values (name -> number);
  - every rpc exists in Triton's GRPCInferenceService with the same request/response types
    and streaming flags.
Each test reports all mismatches at once. Run: tools/conformance/run.sh
"""
import pathlib
import subprocess
import sys

import pytest
from google.protobuf import descriptor_pb2

REPO = pathlib.Path(__file__).resolve().parents[2]
PROTO_DIR = REPO / "proto" / "src" / "main" / "proto"
FILES = ("grpc_service.proto", "model_config.proto")
FDP = descriptor_pb2.FieldDescriptorProto


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """FileDescriptorProto by file name, compiled from our .proto files."""
    import grpc_tools
    from importlib import resources

    out = tmp_path_factory.mktemp("proto") / "maas.desc"
    well_known = resources.files(grpc_tools) / "_proto"
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}", f"-I{well_known}",
           f"--descriptor_set_out={out}", "--include_imports", *FILES]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"protoc failed:\n{proc.stderr}"
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return {f.name: f for f in fds.file}


@pytest.fixture(scope="module")
def triton():
    """Triton's FileDescriptorProto by file name, from the modules bundled in tritonclient."""
    from tritonclient.grpc import model_config_pb2, service_pb2

    result = {}
    for mod in (service_pb2, model_config_pb2):
        fdp = descriptor_pb2.FileDescriptorProto()
        mod.DESCRIPTOR.CopyToProto(fdp)
        result[fdp.name] = fdp
    return result


def _index(fdp):
    """Full name -> DescriptorProto / EnumDescriptorProto for every (nested) message and enum."""
    messages, enums = {}, {}

    def walk(prefix, msg_list, enum_list):
        for e in enum_list:
            enums[f"{prefix}.{e.name}"] = e
        for m in msg_list:
            full = f"{prefix}.{m.name}"
            messages[full] = m
            walk(full, m.nested_type, m.enum_type)

    walk(f".{fdp.package}" if fdp.package else "", fdp.message_type, fdp.enum_type)
    return messages, enums


def _type_name(t):
    return FDP.Type.Name(t)


def _label_name(label):
    return FDP.Label.Name(label)


def _oneof(msg, field):
    return msg.oneof_decl[field.oneof_index].name if field.HasField("oneof_index") else None


def _compare_file(ours_fdp, triton_fdp):
    problems = []
    if ours_fdp.package != triton_fdp.package:
        problems.append(f"package: ours '{ours_fdp.package}', Triton '{triton_fdp.package}'")
    our_msgs, our_enums = _index(ours_fdp)
    tr_msgs, tr_enums = _index(triton_fdp)

    for name, msg in our_msgs.items():
        tmsg = tr_msgs.get(name)
        if tmsg is None:
            problems.append(f"message {name}: not in Triton's {triton_fdp.name}")
            continue
        if msg.options.map_entry != tmsg.options.map_entry:
            problems.append(f"message {name}: map_entry ours {msg.options.map_entry}, Triton {tmsg.options.map_entry}")
        by_number = {f.number: f for f in tmsg.field}
        for f in msg.field:
            where = f"field {name}.{f.name} = {f.number}"
            tf = by_number.get(f.number)
            if tf is None:
                same_name = next((x for x in tmsg.field if x.name == f.name), None)
                hint = f" (Triton has '{f.name}' = {same_name.number})" if same_name else ""
                problems.append(f"{where}: Triton has no field number {f.number}{hint}")
                continue
            if tf.name != f.name:
                problems.append(f"{where}: Triton names field {f.number} '{tf.name}'")
            if tf.type != f.type:
                problems.append(f"{where}: type ours {_type_name(f.type)}, Triton {_type_name(tf.type)}")
            if tf.label != f.label:
                problems.append(f"{where}: label ours {_label_name(f.label)}, Triton {_label_name(tf.label)}")
            if f.type in (FDP.TYPE_MESSAGE, FDP.TYPE_ENUM) and tf.type_name != f.type_name:
                problems.append(f"{where}: type name ours {f.type_name}, Triton {tf.type_name}")
            if _oneof(msg, f) != _oneof(tmsg, tf):
                problems.append(f"{where}: oneof ours {_oneof(msg, f)}, Triton {_oneof(tmsg, tf)}")

    for name, enum in our_enums.items():
        tenum = tr_enums.get(name)
        if tenum is None:
            problems.append(f"enum {name}: not in Triton's {triton_fdp.name}")
            continue
        tvalues = {v.name: v.number for v in tenum.value}
        for v in enum.value:
            if v.name not in tvalues:
                problems.append(f"enum {name}.{v.name} = {v.number}: not in Triton's enum")
            elif tvalues[v.name] != v.number:
                problems.append(f"enum {name}.{v.name}: number ours {v.number}, Triton {tvalues[v.name]}")
    return problems


@pytest.mark.parametrize("file_name", FILES)
def test_messages_and_enums_match_triton(ours, triton, file_name):
    assert file_name in triton, f"tritonclient bundles no {file_name}: {sorted(triton)}"
    problems = _compare_file(ours[file_name], triton[file_name])
    if problems:
        pytest.fail(f"{len(problems)} mismatch(es) in {file_name}:\n  " + "\n  ".join(problems), pytrace=False)


def test_services_match_triton(ours, triton):
    problems = []
    tr_services = {f".{fdp.package}.{s.name}": s for fdp in triton.values() for s in fdp.service}
    our_services = [(f".{ours[f].package}.{s.name}", s) for f in FILES for s in ours[f].service]
    assert our_services, "our .proto files define no service"
    for full, svc in our_services:
        tsvc = tr_services.get(full)
        if tsvc is None:
            problems.append(f"service {full}: not in Triton's ({sorted(tr_services)})")
            continue
        tmethods = {m.name: m for m in tsvc.method}
        for m in svc.method:
            tm = tmethods.get(m.name)
            where = f"rpc {full}.{m.name}"
            if tm is None:
                problems.append(f"{where}: not in Triton's service")
                continue
            for attr in ("input_type", "output_type", "client_streaming", "server_streaming"):
                if getattr(m, attr) != getattr(tm, attr):
                    problems.append(f"{where}: {attr} ours {getattr(m, attr)}, Triton {getattr(tm, attr)}")
    if problems:
        pytest.fail(f"{len(problems)} mismatch(es) in services:\n  " + "\n  ".join(problems), pytrace=False)
