with

source as (

    select * from {{ source('ingest', 'ingest_quarantine') }}

),

final as (

    select
        source_kind,
        source_name,
        source_partition,
        source_offset,
        coalesce(error_field, '(record)') as error_field,
        reason,
        batch_id,
        landed_at
    from source

)

select * from final
