"""A tiny IDL-free Thrift service ("Calc") over the python thrift library, for the fixtures.

    service Calc {
      i32 add(1: i32 a, 2: i32 b)
      i32 divide(1: i32 a, 2: i32 b) throws (1: DivByZero oops)   // struct DivByZero {1: string message}
      oneway void log(1: string msg)
    }
plus a call of `nosuch`, which the server answers with a TApplicationException
(UNKNOWN_METHOD). Run as `calc.py PORT binary|binary-old|compact framed|buffered`; it serves
one connection on 127.0.0.1:PORT in a thread and drives it with a client.
"""
import sys
import threading
import time

from thrift.Thrift import TApplicationException, TMessageType, TType
from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.transport import TSocket, TTransport

port, proto_name, trans_name = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def protocol(trans, client):
    if proto_name == "compact":
        return TCompactProtocol.TCompactProtocol(trans)
    if proto_name == "binary-old" and client:
        return TBinaryProtocol.TBinaryProtocol(trans, strictRead=False, strictWrite=False)
    return TBinaryProtocol.TBinaryProtocol(trans, strictRead=False, strictWrite=proto_name != "binary-old")


def transport(sock):
    return TTransport.TFramedTransport(sock) if trans_name == "framed" else TTransport.TBufferedTransport(sock)


def read_args(p):
    args = {}
    p.readStructBegin()
    while True:
        _, ftype, fid = p.readFieldBegin()
        if ftype == TType.STOP:
            break
        if ftype == TType.I32:
            args[fid] = p.readI32()
        elif ftype == TType.STRING:
            args[fid] = p.readString()
        else:
            p.skip(ftype)
        p.readFieldEnd()
    p.readStructEnd()
    return args


def serve(listener):
    client = listener.accept()
    trans = transport(client)
    p = protocol(trans, False)
    try:
        while True:
            name, mtype, seqid = p.readMessageBegin()
            args = read_args(p)
            p.readMessageEnd()
            if mtype == TMessageType.ONEWAY:
                continue
            if name == "add":
                p.writeMessageBegin(name, TMessageType.REPLY, seqid)
                p.writeStructBegin("add_result")
                p.writeFieldBegin("success", TType.I32, 0)
                p.writeI32(args.get(1, 0) + args.get(2, 0))
                p.writeFieldEnd()
            elif name == "divide" and args.get(2, 0) == 0:
                p.writeMessageBegin(name, TMessageType.REPLY, seqid)
                p.writeStructBegin("divide_result")
                p.writeFieldBegin("oops", TType.STRUCT, 1)
                p.writeStructBegin("DivByZero")
                p.writeFieldBegin("message", TType.STRING, 1)
                p.writeString("division by zero")
                p.writeFieldEnd()
                p.writeFieldStop()
                p.writeStructEnd()
                p.writeFieldEnd()
            else:
                x = TApplicationException(TApplicationException.UNKNOWN_METHOD, "Unknown function " + name)
                p.writeMessageBegin(name, TMessageType.EXCEPTION, seqid)
                x.write(p)
                p.writeMessageEnd()
                trans.flush()
                continue
            p.writeFieldStop()
            p.writeStructEnd()
            p.writeMessageEnd()
            trans.flush()
    except TTransport.TTransportException:
        pass
    client.close()


def call(p, trans, name, seqid, fields, oneway=False):
    p.writeMessageBegin(name, TMessageType.ONEWAY if oneway else TMessageType.CALL, seqid)
    p.writeStructBegin(name + "_args")
    for fid, ftype, value in fields:
        p.writeFieldBegin("f%d" % fid, ftype, fid)
        (p.writeI32 if ftype == TType.I32 else p.writeString)(value)
        p.writeFieldEnd()
    p.writeFieldStop()
    p.writeStructEnd()
    p.writeMessageEnd()
    trans.flush()
    if oneway:
        return None
    rname, mtype, rseq = p.readMessageBegin()
    if mtype == TMessageType.EXCEPTION:
        x = TApplicationException()
        x.read(p)
        p.readMessageEnd()
        return x
    result = read_args(p)
    p.readMessageEnd()
    return result


listener = TSocket.TServerSocket(host="127.0.0.1", port=port)
listener.listen()
t = threading.Thread(target=serve, args=(listener,))
t.start()
sock = TSocket.TSocket("127.0.0.1", port)
trans = transport(sock)
trans.open()
p = protocol(trans, True)
print(call(p, trans, "add", 1, [(1, TType.I32, 2), (2, TType.I32, 3)]))
call(p, trans, "log", 2, [(1, TType.STRING, "hello from the client")], oneway=True)
print(call(p, trans, "divide", 3, [(1, TType.I32, 1), (2, TType.I32, 0)]))
print(call(p, trans, "nosuch", 4, []))
time.sleep(0.2)
trans.close()
t.join()
listener.close()
