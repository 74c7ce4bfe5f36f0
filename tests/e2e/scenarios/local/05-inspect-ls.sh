# docker volume inspect shows the driver, a real CreatedAt and a Status
# object from holdfastd; docker volume ls lists the volumes with the driver.
vol_create insp -o mode=0700
assert_eq holdfast "$(vol_field insp .Driver)" "Driver"
created=$(vol_field insp .CreatedAt)
assert_match '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]' "$created" "CreatedAt"
age=$(( $(date +%s) - $(date -d "$created" +%s) ))
(( age >= -5 && age < 600 )) || fail "CreatedAt $created is $age s away from now"
status=$(docker volume inspect -f '{{json .Status}}' insp)
assert_match '^\{".+\}$' "$status" "Status"
assert_eq 'map[mode:0700]' "$(vol_field insp .Options)" "Options"

vol_create ls-a
vol_create ls-b
listing=$(docker volume ls --format '{{.Driver}} {{.Name}}')
for v in insp ls-a ls-b; do
    assert_contains "$listing" "holdfast $v" "docker volume ls"
done
assert_eq "insp ls-a ls-b" "$(docker volume ls -q --filter driver=holdfast | sort | xargs)" "holdfast volumes"
