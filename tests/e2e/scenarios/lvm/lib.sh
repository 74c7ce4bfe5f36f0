# Helpers for the LVM scenarios (sourced after guest/lib.sh).
VG=hfvg

# The LV of a volume, as its Status says.
lv_of() { docker volume inspect -f '{{index .Status "logical_volume"}}' "$1"; }
# A Status field of a volume ("" when absent).
status_of() { # NAME FIELD
    local v
    v=$(docker volume inspect -f "{{index .Status \"$2\"}}" "$1")
    [[ $v == '<no value>' ]] && v=''
    echo "$v"
}
# The whole Status of a volume as JSON (one docker call; read it with jq).
status_json() { docker volume inspect -f '{{json .Status}}' "$1"; }
# Mount source and type at a mountpoint, from the kernel's table.
mount_of() { awk -v m="$1" '$2 == m { print $1, $3 }' /proc/mounts; }
lv_exists() { lvs "$VG/$1" >/dev/null 2>&1; }
# Holdfast's LVs (tag holdfast) in the VG, one "name tags" per line.
holdfast_lvs() { lvs --noheadings -o lv_name,lv_tags "$VG" | awk '$2 ~ /(^|,)holdfast(,|$)/ { print $1, $2 }'; }
# Size in KiB of the filesystem a container sees at /vol.
df_kib() { # VOLUME
    docker run --rm -v "$1":/vol "$BUSYBOX" df -k /vol | awk 'NR == 2 { print $2 }'
}
# Asserts LO <= VALUE <= HI.
assert_between() { # LO HI VALUE WHAT
    (( $3 >= $1 && $3 <= $2 )) || fail "$4: $3 not in [$1, $2]"
    log "ok: $4 = $3 (in [$1, $2])"
}
# Time of one plugin call (Mount/Unmount/Create/Remove) straight on the socket.
plugin_timed() { # LABEL ENDPOINT JSON
    local t0 reply
    t0=$(now)
    # Docker's own limit for Create and Mount (not plugin_call's 30 s: LVM
    # commands under TCG emulation on a busy host can take longer).
    reply=$(curl -s --max-time 120 --unix-socket "$HOLDFAST_SOCKET" -X POST -d "$3" "http://holdfast/VolumeDriver.$2")
    log "$1 took $(elapsed "$t0")s: $reply"
    [[ $reply == *'"Err":""'* ]] || fail "$1: $reply"
}
# The operator CLI (staged by run.sh, installed by guest/driver.sh): it asks
# the running holdfastd, over its admin socket, to resize under the
# volume's operation lock.
need_cli() {
    command -v holdfast >/dev/null || fail "the holdfast CLI is not installed (tests/e2e/run.sh stages it)"
}
