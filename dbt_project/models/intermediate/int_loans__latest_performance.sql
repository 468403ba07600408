with

performance as (

    select * from {{ ref('stg_loan_events__performance') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by loan_id
            order by as_of_date desc, occurred_at desc, landed_at desc, event_id asc
        ) as recency_rank
    from performance

),

final as (

    select
        loan_id,
        event_id as performance_event_id,
        as_of_date,
        loan_status,
        loan_status_raw,
        meets_credit_policy,
        outcome,
        total_pymnt,
        total_rec_prncp,
        recoveries,
        out_prncp,
        last_pymnt_date,
        last_pymnt_amnt
    from ranked
    where recency_rank = 1

)

select * from final
