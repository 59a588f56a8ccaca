# shellcheck shell=bash
# scale.sh: the scale-out set-up of issue 21, for tests/scale/test_scale.sh and
# scripts/demo-scale (make demo-scale). Sourced, after tests/pg.sh has started a
# cluster (MTD_PG_URL):
#   scale_collector DIR I [PORT]  mtd-collector number I on PostgreSQL, data DIR/cI,
#                                 on 127.0.0.1:PORT (a free port when left out)
#   scale_nginx DIR N             Debian's nginx in front of collectors 1..N, HTTPS on
#                                 a free loopback port with a certificate made here
#   scale_stop DIR                every process of DIR stopped (by its pid file)
# Each process's pid is in DIR/*.pid; collector I's port in DIR/cI/port; the load
# balancer's URL in DIR/lb.url and its certificate in DIR/tls/lb.crt.
SCALE_BIN=${MTD_BIN:?MTD_BIN must point to build/bin}

scale_fail() {
    echo "scale: $*" >&2
    return 1
}

# scale_free_port: a TCP port free on 127.0.0.1 now (the kernel's pick).
scale_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# scale_wait_http URL: until URL answers (any status), 10 s at most.
scale_wait_http() {
    local i
    for i in $(seq 1 200); do
        curl -sk -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.05
    done
    return 1
}

scale_collector() {
    local dir=$1 i=$2 port=${3:-0} d=$1/c$2
    mkdir -p "$d"
    rm -f "$d/collector.url"
    MTD_LOG=${SCALE_LOG:-warn} nohup "$SCALE_BIN/mtd-collector" --data "$d" --listen "127.0.0.1:$port" \
        --store "$MTD_PG_URL" >>"$d/collector.out" 2>>"$d/collector.log" &
    echo $! >"$dir/c$i.pid"
    local n
    for n in $(seq 1 200); do
        [ -s "$d/collector.url" ] && break
        sleep 0.05
    done
    [ -s "$d/collector.url" ] || scale_fail "collector $i did not start: $(tail -3 "$d/collector.log")" || return 1
    local url
    url=$(cat "$d/collector.url")
    echo "${url##*:}" >"$d/port"
}

# scale_alive PID: the process runs (a zombie, dead and not yet reaped, does not).
scale_alive() {
    [ -e "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# scale_end PID SIGNAL: the process sent SIGNAL and gone (SIGKILL after 10 s), and
# reaped when it is this shell's child.
scale_end() {
    local n
    kill "-$2" "$1" 2>/dev/null || return 0
    for n in $(seq 1 200); do
        scale_alive "$1" || break
        sleep 0.05
    done
    ! scale_alive "$1" || kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# scale_kill9 DIR I: collector I killed with SIGKILL, as a crash would.
scale_kill9() {
    scale_end "$(cat "$1/c$2.pid")" KILL
    rm -f "$1/c$2.pid"
}

# The upstream: every collector; a batch a collector failed to answer goes to the
# next one (non_idempotent: POST /v1/batches is idempotent by its batch key, which is
# what this set-up tests). No collector is ever marked down (max_fails=0): with the
# database down every collector answers 503 with Retry-After, and marking them all
# down turned that into nginx's own 502 without it; a killed one costs a refused
# connect on loopback.
scale_nginx_conf() {
    local dir=$1 n=$2 port=$3 i
    local user="" # nginx run as root drops its workers to nobody, who cannot enter DIR
    [ "$(id -u)" = 0 ] && user="user root;"
    {
        cat <<CONF
$user
daemon off;
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 2048; }
http {
    log_format up '\$msec \$request_method \$uri \$status up=\$upstream_addr up_status=\$upstream_status';
    access_log $dir/nginx/access.log up;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    client_max_body_size 16m;
    upstream collectors {
CONF
        for i in $(seq 1 "$n"); do
            echo "        server 127.0.0.1:$(cat "$dir/c$i/port") max_fails=0;"
        done
        cat <<CONF
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $dir/tls/lb.crt;
        ssl_certificate_key $dir/tls/lb.key;
        location / {
            proxy_pass http://collectors;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }
    }
}
CONF
    } >"$dir/nginx/nginx.conf"
}

scale_nginx() {
    local dir=$1 n=$2 port
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || scale_fail "nginx not found (apt install nginx-light)" || return 1
    mkdir -p "$dir/nginx" "$dir/tls"
    if [ ! -s "$dir/tls/lb.crt" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=openmtd scale-out load balancer" \
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            -keyout "$dir/tls/lb.key" -out "$dir/tls/lb.crt" 2>/dev/null || scale_fail "openssl req failed" || return 1
    fi
    port=$(scale_free_port)
    scale_nginx_conf "$dir" "$n" "$port"
    nohup "$(command -v nginx || echo /usr/sbin/nginx)" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" \
        -e "$dir/nginx/error.log" >>"$dir/nginx/nginx.out" 2>&1 &
    echo $! >"$dir/nginx.pid"
    echo "https://127.0.0.1:$port" >"$dir/lb.url"
    scale_wait_http "https://127.0.0.1:$port/healthz" ||
        scale_fail "nginx did not start: $(tail -3 "$dir/nginx/error.log" "$dir/nginx/nginx.out")"
}

# scale_stop DIR: nginx first (no request reaches a collector stopping), then the
# collectors, each with SIGTERM (it finishes the requests in flight).
scale_stop() {
    local dir=$1 f
    for f in "$dir"/nginx.pid "$dir"/c*.pid; do
        [ -f "$f" ] || continue
        scale_end "$(cat "$f")" TERM
        rm -f "$f"
    done
}
