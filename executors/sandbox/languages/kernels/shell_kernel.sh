# The shell side of the shell language: a bash loop that runs each code block in
# this one shell, so cd, export, functions and aliases persist.
# argv: CODE_FD CTL_FD. Code arrives NUL-terminated on CODE_FD; `{"done": status}` goes to CTL_FD.
# The INT trap is re-armed for every block: bash leaves a trap that returned from
# inside `wait` half-done, and resetting it is what makes the next interrupt work.
LMC_CODE_FD=$1
LMC_CTL_FD=$2
set --
__lmc_block() { eval "$1"; }
trap : INT
while IFS= read -r -d '' -u "$LMC_CODE_FD" __lmc_code; do
  trap 'return 130' INT
  __lmc_block "$__lmc_code" {LMC_CODE_FD}<&- {LMC_CTL_FD}>&-
  __lmc_status=$?
  trap - INT
  trap : INT
  printf '{"done": %d}\n' "$__lmc_status" >&"$LMC_CTL_FD"
done
