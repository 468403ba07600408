#!/bin/sh
# docker-compose.yml's guard: every other service waits for this check to pass, so the stack
# does not start while a secret is unset or still .env.example's placeholder (change-me...).
# The secrets come in the environment under their .env names; prints one line per problem.
set -u
status=0
for name in PGPASSWORD SUPERSET_PG_PASSWORD SUPERSET_PASSWORD SUPERSET_SECRET_KEY AWS_SECRET_ACCESS_KEY; do
  eval "value=\${$name:-}"
  case "$value" in
    "") echo "error: $name is not set: set it in .env (see .env.example)" >&2; status=1 ;;
    change-me*) echo "error: $name is still the .env.example placeholder: set a real secret in .env" >&2; status=1 ;;
  esac
done
# Superset signs sessions with it: a short key can be guessed.
if [ -n "${SUPERSET_SECRET_KEY:-}" ] && [ "${#SUPERSET_SECRET_KEY}" -lt 32 ]; then
  echo "error: SUPERSET_SECRET_KEY is shorter than 32 characters: use e.g. openssl rand -base64 42" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "secrets are set"
exit "$status"
