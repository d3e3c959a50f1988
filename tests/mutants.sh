#!/usr/bin/env bash
# One-line mutants of the leadership layer that the random simulators must
# catch (docs/simulation.md, "Mutants"). Each mutant is applied to a
# temporary copy of the source tree (the checkout is never touched), the
# copy is built, and the random schedules alone run on it, at the CI seed
# counts:
#   cargo test --release --test leadership random_schedules -- --exact
#   cargo test --release --test simulation random_schedules -- --exact
# A mutant is caught when one of them fails; for a mutant marked "safety"
# the failure must be a safety violation, not a liveness one. Prints
# "mutant / caught / first failing seed / time" and exits non-zero if a
# mutant survives.
#
#   tests/mutants.sh            every mutant
#   tests/mutants.sh a e        only these
#   MUTANT_TARGET=dir           cargo target dir for the copy (default under
#                               the temp dir, kept between runs, so that
#                               rebuilds are incremental)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
target="${MUTANT_TARGET:-${TMPDIR:-/tmp}/zkelect-mutants-target}"

# Each mutant: the file, the exact line it replaces, the replacement, and
# what must catch it (any failure, or a safety one).
names=(a b c d e)
declare -A file old new expect what
file[a]=src/leadership/leader.rs
old[a]='                    if reported_heartbeat(msg).is_some_and(|h| t.ack(from, h)) {'
new[a]='                    if reported_heartbeat(msg).is_some_and(|h| { let ok = t.ack(from, h); if ok { t.fresh.insert(from, now); } ok }) {'
expect[a]=any
what[a]="ack counted from the report's arrival, not the heartbeat's send time"
file[b]=src/leadership/input.rs
old[b]='        if self.mode == Mode::Lease && (!self.durable || self.accepted > 0) {'
new[b]='        if false && self.mode == Mode::Lease && (!self.durable || self.accepted > 0) {'
expect[b]=any
what[b]="no restart quarantine"
file[c]=src/leadership/promise.rs
old[c]='        now < self.until && self.leader != Some(leader)'
new[c]='        false && now < self.until && self.leader != Some(leader)'
expect[c]=any
what[c]="a promise never forbids"
file[d]=src/election/tracker.rs
old[d]='            .is_some_and(|v| v.state == ServerState::Leading)'
new[d]='            .is_some_and(|_| true)'
expect[d]=any
what[d]="checkLeader without the LEADING requirement"
file[e]=src/leadership/timing.rs
old[e]='        self.tick * (self.sync_limit - 1)'
new[e]='        self.tick * self.sync_limit'
expect[e]=safety
what[e]="D_L = D_F"

want=" $* "
copy="$tmp/copy"
mkdir -p "$copy"
( cd "$root" && tar --exclude=./target --exclude=./.git -cf - . ) | ( cd "$copy" && tar -xf - )
status=0
rows=()
for name in "${names[@]}"; do
  if [ -n "$*" ] && [[ "$want" != *" $name "* ]]; then continue; fi
  f="${file[$name]}"
  OLD="${old[$name]}" NEW="${new[$name]}" python3 - "$copy/$f" <<'PY'
import os, sys
p = sys.argv[1]
s = open(p).read()
old, new = os.environ["OLD"] + "\n", os.environ["NEW"] + "\n"
n = s.count(old)
if n != 1:
    sys.exit(f"the line of this mutant is in {p} {n} times (want 1): {old!r}")
open(p, "w").write(s.replace(old, new))
PY
  log="$tmp/$name.log"
  start=$(date +%s)
  if ! ( cd "$copy" && CARGO_TARGET_DIR="$target" cargo build --release -q \
         --test leadership --test simulation ) >"$log" 2>&1; then
    echo "mutant $name does not build:" >&2; tail -20 "$log" >&2; exit 2
  fi
  built=$(date +%s)
  caught=no; seed=-; kind=-; line=
  for t in leadership simulation; do
    if ! ( cd "$copy" && CARGO_TARGET_DIR="$target" cargo test --release -q \
           --test "$t" random_schedules -- --exact ) >>"$log" 2>&1; then
      caught=yes
      line=$(grep -m1 -E "(^seed [0-9]+ at|SIMULATION FAILED \(seed)" "$log" || true)
      seed=$(printf '%s' "$line" | grep -oE "seed [0-9]+" | head -1 | cut -d' ' -f2)
      if printf '%s' "$line" | grep -qE "no confirmed leader|not settled|too many events|no convergence|ran dry"; then
        kind=liveness
      else
        kind=safety
      fi
      seed="${seed:-?} ($t random_schedules, $kind)"
      break
    fi
  done
  end=$(date +%s)
  if [ "$caught" = yes ] && [ "${expect[$name]}" = safety ] && [ "$kind" != safety ]; then
    caught="no (only as $kind)"
  fi
  [ "$caught" = yes ] || status=1
  rows+=("$name|${what[$name]}|$caught|$seed|$((built - start)) s build, $((end - built)) s run")
  printf '%s (%s): caught %s, %s\n' "$name" "${what[$name]}" "$caught" "$seed" >&2
  [ -z "$line" ] || printf '    %s\n' "${line:0:300}" >&2
  cp "$root/$f" "$copy/$f"
done
echo
echo "| mutant | what | caught | first failing seed | time |"
echo "|---|---|---|---|---|"
for r in "${rows[@]}"; do
  IFS='|' read -r a b c d e <<<"$r"
  echo "| $a | $b | $c | $d | $e |"
done
exit $status
