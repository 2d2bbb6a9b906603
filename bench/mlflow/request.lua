-- wrk script of bench/mlflow-compat.sh: one request, built once and sent unchanged (no request() function, so wrk
-- stays as fast as without a script), to modelctl and to the MLflow server alike.
--   BENCH_TOKEN          when set: Authorization: Bearer <token> (read from the environment, never on wrk's command
--                        line; MLflow has no authentication and ignores the header)
--   BENCH_WRK_METHOD     GET (default) or POST
--   BENCH_WRK_BODY_FILE  when set: the request body (sent with Content-Type: application/json)
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.method = os.getenv("BENCH_WRK_METHOD") or "GET"
local body_file = os.getenv("BENCH_WRK_BODY_FILE")
if body_file and body_file ~= "" then
    local handle = assert(io.open(body_file, "rb"))
    wrk.body = handle:read("*a")
    handle:close()
    wrk.headers["Content-Type"] = "application/json"
end
