with

batches as (

    select * from {{ ref('stg_ingest__batches') }}

),

final as (

    select
        {{ dbt.date_trunc('minute', 'committed_at') }} as interval_start,
        source_kind,
        cast(count(*) as bigint) as batches,
        cast(sum(records_received) as bigint) as records_received,
        cast(sum(applications_landed) as bigint) as applications_landed,
        cast(sum(performance_landed) as bigint) as performance_landed,
        cast(sum(events_landed) as bigint) as events_landed,
        cast(sum(quarantined) as bigint) as quarantined,
        cast(sum(duplicates_skipped) as bigint) as duplicates_skipped,
        cast(sum(events_landed) as double precision) / 60 as events_per_second,
        cast(percentile_cont(0.95) within group (order by write_ms) as double precision)
            as write_ms_p95,
        cast(max(write_ms) as double precision) as write_ms_max,
        cast(max(lag_at_commit) as bigint) as max_lag,
        max(committed_at) as last_committed_at
    from batches
    group by {{ dbt.date_trunc('minute', 'committed_at') }}, source_kind

)

select * from final
