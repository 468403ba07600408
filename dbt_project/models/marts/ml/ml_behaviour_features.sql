{#- The behavioural score's rows: one per loan and month-end at which the loan was open
    (issued, not yet 120+ days past due, charged off or paid off), with what its payment
    history showed by that month-end and nothing later, and whether it charged off within
    the next 6 and 12 months. Every feature is a window over the loan's months up to and
    including the row's month (ranges by month number, so a gap in a history is a gap, not
    a shift); only the labels look ahead. A label is null until it is known for every
    loan of its month: while the window runs past the book's last month (else recent months
    would count their early charge-offs and payoffs alone), and where the loan's history
    stops before the window's end with neither a charge-off (true) nor a payoff (false). The ML step (ml/behaviour.py) adds the point-in-time
    origination PD and fits only on rows whose window had closed by its cutoff. -#}
{%- set levels = {'current': 0, '1-29': 1, '30-59': 2, '60-89': 3, '90-119': 4} -%}
{%- set open_buckets = "('current', '1-29', '30-59', '60-89', '90-119', 'unknown')" %}

with

loan_months as (

    select * from {{ ref('fct_loan_months') }}

),

loans as (

    select
        loan_id,
        funded_amnt,
        int_rate
    from {{ ref('fct_loans') }}

),

outcomes as (

    -- Each loan's first month charged off, first month it left the book (120+, charged
    -- off or paid off; no month after it is scored) and the last month its history shows.
    select
        loan_id,
        min(case when dpd_bucket = 'charged_off' then month_date end) as charge_off_month,
        min(case when dpd_bucket = 'paid_off' then month_date end) as paid_off_month,
        min(case when dpd_bucket in ('120+', 'charged_off', 'paid_off') then month_date end)
            as end_month,
        max(month_date) as last_month
    from loan_months
    group by loan_id

),

book as (

    select max(month_date) as last_month from loan_months

),

numbered as (

    select
        loan_id,
        month_date,
        months_on_book,
        dpd_bucket,
        balance_begin,
        balance_end,
        amount_due,
        shortfall,
        cast(extract(year from month_date) * 12 + extract(month from month_date) as integer)
            as month_number,
        case dpd_bucket
            {% for bucket, level in levels.items() -%}
                when '{{ bucket }}' then {{ level }}
            {% endfor -%}
        end as dpd_level,
        case when dpd_bucket in ('30-59', '60-89', '90-119', '120+') then 1 else 0 end
            as is_30_plus
    from loan_months

),

windowed as (

    select
        *,
        max(dpd_level) over (
            partition by loan_id order by month_number
            range between 5 preceding and current row
        ) as worst_dpd_level_6m,
        max(dpd_level) over (
            partition by loan_id order by month_number
            range between 11 preceding and current row
        ) as worst_dpd_level_12m,
        sum(is_30_plus) over (
            partition by loan_id order by month_number
            range between 5 preceding and current row
        ) as months_30_plus_6m,
        sum(is_30_plus) over (
            partition by loan_id order by month_number
            range between 11 preceding and current row
        ) as months_30_plus_12m,
        sum(shortfall) over (
            partition by loan_id order by month_number
            range between 2 preceding and current row
        ) as shortfall_3m,
        sum(amount_due) over (
            partition by loan_id order by month_number
            range between 2 preceding and current row
        ) as amount_due_3m,
        first_value(balance_begin) over (
            partition by loan_id order by month_number
            rows between unbounded preceding and current row
        ) as first_balance
    from numbered

),

final as (

    select
        windowed.loan_id,
        windowed.month_date,
        cast(windowed.months_on_book as integer) as months_on_book,
        windowed.dpd_bucket,
        cast(windowed.dpd_level as integer) as dpd_level,
        cast(windowed.worst_dpd_level_6m as integer) as worst_dpd_level_6m,
        cast(windowed.worst_dpd_level_12m as integer) as worst_dpd_level_12m,
        cast(windowed.months_30_plus_6m as integer) as months_30_plus_6m,
        cast(windowed.months_30_plus_12m as integer) as months_30_plus_12m,
        cast(
            windowed.shortfall_3m / nullif(windowed.amount_due_3m, 0) as double precision
        ) as shortfall_share_3m,
        cast(
            (coalesce(loans.funded_amnt, windowed.first_balance) - windowed.balance_end)
            / nullif(coalesce(loans.funded_amnt, windowed.first_balance), 0)
            as double precision
        ) as share_repaid,
        loans.int_rate,
        {{ charged_off_within(6, 'windowed.month_date', 'book.last_month') }}
            as is_charged_off_6m,
        {{ charged_off_within(12, 'windowed.month_date', 'book.last_month') }}
            as is_charged_off_12m
    from windowed
    inner join outcomes on windowed.loan_id = outcomes.loan_id
    cross join book
    left join loans on windowed.loan_id = loans.loan_id
    where
        windowed.dpd_bucket in {{ open_buckets }}
        and (outcomes.end_month is null or windowed.month_date < outcomes.end_month)

)

select * from final
