-- wrk script of the hot-path benchmark: POST /echo with a 99-byte JSON body
wrk.method = "POST"
wrk.path = "/echo"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"message": "Hello, world!", "id": 4711, "ok": true, "padding": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'
