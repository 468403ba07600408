#!/bin/sh
# The stack's batch side, on an interval: rebuild the warehouse, keep the Superset dashboards
# provisioned, retrain the PD models now and then (after testing the whole book, not only
# what the build wrote) with the backtest's out-of-time scores and the behavioural score
# (which needs the monthly payment history, so a book without one skips it) beside them, rescore,
# rebuild the marts with the new PDs and ship the daily
# exports. A failed cycle is reported and retried on the next one.
set -u
interval="${SCHEDULER_INTERVAL_SECONDS:-3600}"
train_every="${SCHEDULER_TRAIN_EVERY:-24}"  # cycles between trainings
cycle=0
trained=no
while true; do
  echo "== cycle $cycle: $(date -u +%FT%TZ)"
  touch /tmp/scheduler.heartbeat  # the container's health check reads its age
  if [ "$trained" = no ] || [ $((cycle % train_every)) -eq 0 ]; then train=yes; else train=no; fi
  # Dashboards first: they are provisioned (and their datasets' columns refreshed) even
  # while the book is too young to train a model on.
  if dbt build --profiles-dir profiles \
    && python -m exports superset \
    && { [ "$train" = no ] || dbt test --profiles-dir profiles --vars '{test_whole_book: true}'; } \
    && { [ "$train" = no ] || { python -m ml train && trained=yes; }; } \
    && { [ "$train" = no ] || python -m ml backtest-scores || echo "backtest scores skipped" >&2; } \
    && { [ "$train" = no ] || python -m ml train-behaviour || echo "behavioural score skipped" >&2; } \
    && python -m ml score \
    && dbt build --profiles-dir profiles \
    && python -m exports all; then
    echo "== cycle $cycle done"
  else
    echo "== cycle $cycle failed; the next cycle retries" >&2
  fi
  cycle=$((cycle + 1))
  sleep "$interval"
done
