"""Drives the fixture RabbitMQ: one session of the common AMQP 0-9-1 methods, a refused
login and a channel error. Used by make-fixtures."""
import sys
import pika

port = int(sys.argv[1])
params = pika.ConnectionParameters("127.0.0.1", port, credentials=pika.PlainCredentials("guest", "guest"))
conn = pika.BlockingConnection(params)
ch = conn.channel()
ch.basic_qos(prefetch_count=10)
ch.exchange_declare("wb-exchange", exchange_type="direct", durable=False)
ch.queue_declare("wb-queue", durable=False)
ch.queue_bind("wb-queue", "wb-exchange", routing_key="wb-key")
props = pika.BasicProperties(content_type="text/plain", delivery_mode=2, headers={"x-wb": "1", "n": 7},
                             correlation_id="corr-1", reply_to="wb-reply", message_id="m-1", app_id="wb-test")
for i in range(3):
    ch.basic_publish("wb-exchange", "wb-key", b"hello %d" % i, props)
method, hdr, body = ch.basic_get("wb-queue", auto_ack=False)
ch.basic_ack(method.delivery_tag)
got = []
def on_msg(c, m, p, b):
    got.append(b)
    c.basic_ack(m.delivery_tag)
    if len(got) == 1:
        c.stop_consuming()
tag = ch.basic_consume("wb-queue", on_msg, consumer_tag="wb-consumer")
ch.start_consuming()
ch.basic_cancel(tag)
ch.basic_get("wb-queue", auto_ack=True)
ch.basic_get("wb-queue", auto_ack=True)  # empty now: get-empty
ch.basic_publish("wb-exchange", "wb-key", b"to purge", props)
ch.queue_purge("wb-queue")
ch.queue_unbind("wb-queue", "wb-exchange", routing_key="wb-key")
ch.queue_delete("wb-queue")
ch.exchange_delete("wb-exchange")
try:
    ch.queue_declare("wb-missing", passive=True)
except pika.exceptions.ChannelClosedByBroker as e:
    print("channel error:", e)
conn.close()

try:
    pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", port, credentials=pika.PlainCredentials("guest", "wrong-password"),
        connection_attempts=1))
except pika.exceptions.ProbableAuthenticationError as e:
    print("refused:", e)
except pika.exceptions.AMQPConnectionError as e:
    print("refused:", repr(e))
