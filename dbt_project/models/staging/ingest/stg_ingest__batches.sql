with

source as (

    select * from {{ source('ingest', 'ingest_batches') }}

),

final as (

    select
        batch_id,
        source_kind,
        source_names,
        records_received,
        applications_landed,
        performance_landed,
        applications_landed + performance_landed as events_landed,
        quarantined,
        duplicates_skipped,
        reused_positions,
        write_ms,
        lag_at_commit,
        started_at,
        committed_at
    from source

)

select * from final
