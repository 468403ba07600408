{{ config(
    materialized='incremental',
    unique_key='loan_id',
    incremental_strategy='delete+insert',
    indexes=([
        {'columns': ['loan_id'], 'unique': true},
        {'columns': ['last_staged_at']},
    ] if target.type == 'postgres' else []),
) }}

with

performance as (

    -- All events of the loans that have any newly staged event (events without a valid
    -- loan id stay in staging, flagged, and belong to no loan).
    select * from {{ ref('stg_loan_events__performance') }}
    where loan_id is not null
    {% if is_incremental() -%}
        and loan_id in (
            select loan_id from {{ ref('stg_loan_events__performance') }}
            where {{ staged_after_watermark('staged_at') }}
        )
    {%- endif %}

),

with_payments as (

    select
        *,
        max(last_pymnt_date) over (partition by loan_id) as last_payment_seen_date
    from performance

),

ranked as (

    select
        *,
        row_number() over (
            partition by loan_id
            -- The latest state; within a month, the one that landed last (a status change
            -- within the month, a corrected event), in the warehouse's commit order.
            order by
                as_of_date desc, occurred_at desc, commit_seq desc, source_offset desc,
                event_id asc
        ) as recency_rank,
        -- The first default, dated from the last payment (the loan's latest seen, where
        -- this snapshot shows none; a loan that never paid is dated from its issue month in
        -- int_loans__rule_banded).
        min(
            case
                when outcome = 'default' and last_payment_seen_date is not null
                    then {{ estimated_default_month(
                        'coalesce(last_pymnt_date, last_payment_seen_date)', 'as_of_date'
                    ) }}
                when outcome = 'default' then as_of_date
            end
        ) over (partition by loan_id) as first_default_date,
        max(landed_at) over (partition by loan_id) as last_landed_at,
        max(staged_at) over (partition by loan_id) as last_staged_at
    from with_payments

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
        first_default_date,
        -- No payment date in any snapshot and nothing paid but recoveries: a default is then
        -- dated from issue. An unreadable date with money paid is not "never paid".
        coalesce(
            last_payment_seen_date is null
            and total_pymnt - coalesce(recoveries, 0) <= 0,
            false
        ) as is_never_paid,
        total_pymnt,
        total_rec_prncp,
        recoveries,
        out_prncp,
        last_pymnt_date,
        last_pymnt_amnt,
        last_landed_at,
        last_staged_at
    from ranked
    where recency_rank = 1

)

select * from final
