with

loan_months as (

    select * from {{ ref('fct_loan_months') }}

),

monthly as (

    select
        month_date,
        -- Open at the month's end: current to 120+ days past due (not charged off, not
        -- paid off, not unreadable).
        count(case when dpd_bucket not in ('charged_off', 'paid_off', 'unknown') then 1 end)
            as open_loans,
        coalesce(sum(case when dpd_bucket not in ('charged_off', 'paid_off', 'unknown') then balance_end end), 0)  -- noqa: LT05
            as open_balance,
        count(case when is_30_plus then 1 end) as loans_30_plus,
        count(case when is_60_plus then 1 end) as loans_60_plus,
        count(case when is_90_plus then 1 end) as loans_90_plus,
        coalesce(sum(case when is_30_plus then balance_end end), 0) as balance_30_plus,
        coalesce(sum(case when is_60_plus then balance_end end), 0) as balance_60_plus,
        coalesce(sum(case when is_90_plus then balance_end end), 0) as balance_90_plus,
        count(
            case when previous_dpd_bucket in ('1-29', '30-59', '60-89', '90-119', '120+') then 1 end
        ) as delinquent_loans_month_before,
        count(case when is_cure then 1 end) as cured_loans,
        count(
            case when is_charged_off_month and previous_dpd_bucket is distinct from 'charged_off' then 1 end
        )
            as charged_off_loans
    from loan_months
    group by month_date

),

final as (

    select
        month_date,
        cast(open_loans as bigint) as open_loans,
        cast(open_balance as double precision) as open_balance,
        cast(loans_30_plus as bigint) as loans_30_plus,
        cast(loans_60_plus as bigint) as loans_60_plus,
        cast(loans_90_plus as bigint) as loans_90_plus,
        cast(loans_30_plus as double precision) / nullif(open_loans, 0) as rate_30_plus,
        cast(loans_60_plus as double precision) / nullif(open_loans, 0) as rate_60_plus,
        cast(loans_90_plus as double precision) / nullif(open_loans, 0) as rate_90_plus,
        cast(balance_30_plus as double precision) as balance_30_plus,
        cast(balance_60_plus as double precision) as balance_60_plus,
        cast(balance_90_plus as double precision) as balance_90_plus,
        cast(balance_30_plus as double precision) / nullif(open_balance, 0)
            as balance_rate_30_plus,
        cast(balance_60_plus as double precision) / nullif(open_balance, 0)
            as balance_rate_60_plus,
        cast(balance_90_plus as double precision) / nullif(open_balance, 0)
            as balance_rate_90_plus,
        cast(delinquent_loans_month_before as bigint) as delinquent_loans_month_before,
        cast(cured_loans as bigint) as cured_loans,
        cast(cured_loans as double precision) / nullif(delinquent_loans_month_before, 0)
            as cure_rate,
        cast(charged_off_loans as bigint) as charged_off_loans
    from monthly

)

select * from final
