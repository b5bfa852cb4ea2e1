# Shared by the A/B scripts (bench/ab-builds.sh, bench/ab-resp-get.sh), sourced after `set -euo
# pipefail`: a work directory removed on exit, the server they started (server_pid) stopped on
# exit, a free port, and a random admin token.
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
token=$(node -e "console.log(require('crypto').randomBytes(24).toString('base64url'))")
