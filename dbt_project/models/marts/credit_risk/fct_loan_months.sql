{{ config(
    materialized='incremental',
    unique_key='loan_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    indexes=([
        {'columns': ['loan_id', 'month_date'], 'unique': true},
        {'columns': ['month_date']},
        {'columns': ['last_staged_at']},
    ] if target.type == 'postgres' else []),
) }}

{%- set delinquent = "('1-29', '30-59', '60-89', '90-119', '120+')" %}
{%- set thirty_plus = "('30-59', '60-89', '90-119', '120+')" %}

{%- set loan_condition -%}
    loan_id is not null
    {%- if is_incremental() %} and loan_id in (select loan_id from changed_loans){% endif %}
{%- endset %}

with

{% if is_incremental() -%}

changed_loans as (

    -- Loans with a newly staged month, and loans whose application changed (its issue date
    -- and grade describe every month): their whole history is rebuilt, since a month's
    -- bucket and flags depend on the months before it.
    select loan_id from {{ ref('stg_loan_events__loan_months') }}
    where {{ staged_after_watermark('staged_at') }}
    union
    select loan_id from {{ ref('int_loans__rule_banded') }}
    where {{ staged_after_watermark('last_staged_at') }}

),

{% endif -%}

months as (

    {{ latest_loan_months(ref('stg_loan_events__loan_months'), loan_condition) }}

),

loans as (

    select
        loan_id,
        issue_date,
        grade,
        term_months
    from {{ ref('int_loans__rule_banded') }}

),

runs as (

    {{ with_late_runs('months') }}

),

bucketed as (

    select
        *,
        {{ dpd_bucket('loan_status', 'is_charged_off_flag', 'late_run') }} as dpd_bucket
    from runs

),

sequenced as (

    select
        *,
        -- The bucket a month rolled from: the loan's month before, if the history has it.
        case
            when previous_month_date = cast({{ dbt.dateadd('month', -1, 'month_date') }} as date)
                then lag(dpd_bucket) over (partition by loan_id order by month_date)
        end as previous_dpd_bucket,
        sum(case when dpd_bucket in {{ thirty_plus }} then 1 else 0 end) over (
            partition by loan_id
            order by month_date
            rows between unbounded preceding and current row
        ) as months_30_plus_so_far,
        -- Months under 30 days past due so far: 0 while a history that starts 30+ (one that
        -- begins mid-loan, after the first missed payment) is still in that first spell,
        -- whose first delinquency came before the history.
        sum(case when dpd_bucket in {{ thirty_plus }} then 0 else 1 end) over (
            partition by loan_id
            order by month_date
            rows between unbounded preceding and current row
        ) as months_under_30_so_far,
        max(staged_at) over (partition by loan_id) as last_staged_at
    from bucketed

),

final as (

    select
        sequenced.loan_id,
        sequenced.month_date,
        cast(coalesce(
            {{ dbt.datediff('coalesce(loans.issue_date, sequenced.reported_issue_date)', 'sequenced.month_date', 'month') }},  -- noqa: LT05
            sequenced.reported_months_on_book
        ) as integer) as months_on_book,
        coalesce(loans.issue_date, sequenced.reported_issue_date) as issue_date,
        coalesce(loans.grade, sequenced.reported_grade) as grade,
        loans.term_months,
        sequenced.loan_status,
        sequenced.dpd_bucket,
        sequenced.previous_dpd_bucket,
        sequenced.dpd_bucket in {{ delinquent }} as is_delinquent,
        sequenced.dpd_bucket in {{ thirty_plus }} as is_30_plus,
        sequenced.dpd_bucket in ('60-89', '90-119', '120+') as is_60_plus,
        sequenced.dpd_bucket in ('90-119', '120+') as is_90_plus,
        sequenced.balance_begin,
        sequenced.balance_end,
        sequenced.amount_due,
        sequenced.amount_received,
        greatest(sequenced.amount_due - coalesce(sequenced.amount_received, 0), 0) as shortfall,
        sequenced.principal_paid,
        sequenced.interest_paid,
        sequenced.dpd_bucket = 'charged_off' as is_charged_off_month,
        sequenced.charged_off_amount,
        sequenced.dpd_bucket in {{ thirty_plus }}
        and sequenced.months_30_plus_so_far = 1
        and sequenced.months_under_30_so_far > 0 as is_first_delinquency,
        coalesce(
            sequenced.dpd_bucket = 'current' and sequenced.previous_dpd_bucket in {{ delinquent }},
            false
        ) as is_cure,
        sequenced.event_id,
        sequenced.last_staged_at
    from sequenced
    left join loans on sequenced.loan_id = loans.loan_id

)

select * from final
