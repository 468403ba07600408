{{ config(
    materialized='incremental',
    unique_key='loan_id',
    incremental_strategy='delete+insert',
    indexes=([
        {'columns': ['loan_id'], 'unique': true},
        {'columns': ['last_staged_at']},
    ] if target.type == 'postgres' else []),
) }}

{%- set loan_condition -%}
    loan_id is not null
    {%- if is_incremental() %} and loan_id in (select loan_id from changed_loans){% endif %}
{%- endset %}

with

{% if is_incremental() -%}

changed_loans as (

    -- Loans with a newly staged snapshot or payment-history month.
    select loan_id from {{ ref('stg_loan_events__performance') }}
    where {{ staged_after_watermark('staged_at') }}
    union
    select loan_id from {{ ref('stg_loan_events__loan_months') }}
    where {{ staged_after_watermark('staged_at') }}

),

{% endif -%}

performance as (

    -- All snapshots of the loans that have any newly staged event (events without a valid
    -- loan id stay in staging, flagged, and belong to no loan).
    select * from {{ ref('stg_loan_events__performance') }}
    where loan_id is not null
    {% if is_incremental() -%}
        and loan_id in (select loan_id from changed_loans)
    {%- endif %}

),

loan_months as (

    {{ latest_loan_months(ref('stg_loan_events__loan_months'), loan_condition) }}

),

runs as (

    {{ with_late_runs('loan_months') }}

),

bucketed_months as (

    select
        *,
        {{ dpd_bucket('loan_status', 'is_charged_off_flag', 'late_run') }} as dpd_bucket
    from runs

),

history as (

    -- Each loan's payment history: its latest month with a status LendingClub uses (an
    -- unreadable status never overrides a known state), the last month a payment came in,
    -- and its default month: the first 120+ days past due or charged off (a history dates
    -- the default itself; a snapshot's default date is an estimate, below). A history that
    -- starts 30 or more days past due began after the loan's first missed payment: its late
    -- months are counted from its start, so its default month is only an upper bound.
    select
        loan_id,
        month_date as history_as_of_date,
        loan_status as history_loan_status,
        loan_status_unknown as is_history_status_unknown,
        outcome as history_outcome,
        balance_end as history_balance,
        min(case when dpd_bucket in ('120+', 'charged_off') then month_date end) over (
            partition by loan_id
        ) as history_default_date,
        first_value(
            dpd_bucket in ('30-59', '60-89', '90-119', '120+', 'charged_off')
        ) over (
            partition by loan_id order by month_date
            rows between unbounded preceding and unbounded following
        ) as is_history_joined_late,
        max(case when amount_received > 0 then coalesce(received_date, month_date) end) over (
            partition by loan_id
        ) as history_last_payment_date,
        max(landed_at) over (partition by loan_id) as history_landed_at,
        max(staged_at) over (partition by loan_id) as history_staged_at,
        row_number() over (
            partition by loan_id order by loan_status_unknown asc, month_date desc
        ) as history_recency_rank
    from bucketed_months

),

latest_months as (

    select * from history
    where history_recency_rank = 1

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

snapshots as (

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
        collection_recovery_fee,
        out_prncp,
        last_pymnt_date,
        last_pymnt_amnt,
        last_landed_at,
        last_staged_at
    from ranked
    where recency_rank = 1

),

combined as (

    select
        snapshots.*,
        latest_months.loan_id as history_loan_id,
        latest_months.history_as_of_date,
        latest_months.history_loan_status,
        latest_months.is_history_status_unknown,
        latest_months.history_outcome,
        latest_months.history_balance,
        latest_months.history_default_date,
        latest_months.is_history_joined_late,
        latest_months.history_last_payment_date,
        latest_months.history_landed_at,
        latest_months.history_staged_at,
        -- The latest state is the newer of the latest snapshot and the latest history month
        -- with a known status (a snapshot of the same month wins: it carries the payment
        -- totals; a history without one readable status never wins over a snapshot).
        coalesce(
            latest_months.history_as_of_date > snapshots.as_of_date
            and not latest_months.is_history_status_unknown,
            snapshots.loan_id is null
        ) as is_history_latest
    from snapshots
    full outer join latest_months on snapshots.loan_id = latest_months.loan_id

),

final as (

    select
        coalesce(loan_id, history_loan_id) as loan_id,
        performance_event_id,
        case when is_history_latest then history_as_of_date else as_of_date end as as_of_date,
        history_as_of_date,
        case when is_history_latest then history_loan_status else loan_status end
            as loan_status,
        loan_status_raw,
        coalesce(meets_credit_policy, true) as meets_credit_policy,
        case when is_history_latest then history_outcome else outcome end as outcome,
        -- A history dates the default itself; a snapshot's date is an estimate, and the
        -- earlier of the two where the history began with the loan already late.
        case
            when is_history_joined_late
                then least(history_default_date, first_default_date)
            else coalesce(history_default_date, first_default_date)
        end as first_default_date,
        case
            when history_default_date is not null
                and (
                    not is_history_joined_late
                    or first_default_date is null
                    or history_default_date <= first_default_date
                )
                then 'payment_history'
            when first_default_date is not null then 'snapshot_estimate'
        end as default_date_source,
        coalesce(is_never_paid, true) and history_last_payment_date is null as is_never_paid,
        total_pymnt,
        total_rec_prncp,
        recoveries,
        collection_recovery_fee,
        case when is_history_latest then history_balance else out_prncp end as out_prncp,
        greatest(last_pymnt_date, history_last_payment_date) as last_pymnt_date,
        last_pymnt_amnt,
        greatest(last_landed_at, history_landed_at) as last_landed_at,
        greatest(last_staged_at, history_staged_at) as last_staged_at
    from combined

)

select * from final
