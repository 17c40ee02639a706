# The balancer of `make cluster`: nginx (Debian's package) on 127.0.0.1:3000 in front of the two API
# replicas (cluster/api.sh). Open-source nginx has no active health checks: a replica that refuses
# connections or times out is left out for 10 s after 3 failures (max_fails, fail_timeout), and a
# request is passed to the other replica only when it never reached the first (a connection error):
# a POST that reached a replica is never sent twice by the balancer. Sourced by stack.sh.
# shellcheck shell=bash
BALANCER_STATE="$STACK_DIR/balancer"

balancer_port() { echo 3000; }
balancer_timeout() { echo 30; }
balancer_grace() { echo 10; }
balancer_probe() { curl -fsS -m 3 http://127.0.0.1:3000/health/ready >/dev/null; }

balancer_install() {
  command -v nginx >/dev/null || apt_install nginx "install nginx 1.22 or later" nginx-light || return 1
  mkdir -p "$BALANCER_STATE/tmp"
  cat >"$BALANCER_STATE/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $BALANCER_STATE/nginx.pid;
error_log stderr warn;
events { worker_connections 2048; }
http {
  access_log off;
  client_body_temp_path $BALANCER_STATE/tmp/body;
  proxy_temp_path $BALANCER_STATE/tmp/proxy;
  fastcgi_temp_path $BALANCER_STATE/tmp/fastcgi;
  uwsgi_temp_path $BALANCER_STATE/tmp/uwsgi;
  scgi_temp_path $BALANCER_STATE/tmp/scgi;
  # The API refuses bodies over its own limits, with a clear 413: let them through to it.
  client_max_body_size 64m;
  upstream api {
    server 127.0.0.1:3001 max_fails=3 fail_timeout=10s;
    server 127.0.0.1:3002 max_fails=3 fail_timeout=10s;
    keepalive 32;
    # Below the API's HTTP_KEEPALIVE_TIMEOUT_MS (5 s): nginx must drop an idle connection before the API
    # does, or it may send a request on one the API is closing (a reset, and a 502 for a POST).
    keepalive_timeout 4s;
  }
  server {
    listen 127.0.0.1:3000;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 120s;
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 2;
    }
  }
}
CONF
}

balancer_start() { launch balancer nginx -c "$BALANCER_STATE/nginx.conf"; }
