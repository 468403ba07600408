-- The KPIs must agree with each other and with fct_loans, and every segmentation must add up
-- to the portfolio: returns a row on any mismatch.
with

kpis as (

    select * from {{ ref('kpi_summary') }}

),

loans as (

    select * from {{ ref('fct_loans') }}

),

recount as (

    select
        count(*) as portfolio_rows,
        sum(case when is_rule_watchlist then 1 else 0 end) as watchlist_rows
    from loans
    where is_resolved

),

portfolio as (

    select * from kpis
    where segment_type = 'portfolio'

),

segment_totals as (

    select
        segment_type,
        sum(portfolio_rows) as portfolio_rows,
        sum(watchlist_rows) as watchlist_rows,
        sum(baseline_default_rate * portfolio_rows) as defaulted_loans
    from kpis
    where segment_type in ('risk_tier', 'grade')
    group by segment_type

),

final as (

    select
        'portfolio' as failed_check,
        portfolio.segment_type
    from portfolio
    cross join recount
    where
        portfolio.portfolio_rows <> recount.portfolio_rows
        or portfolio.watchlist_rows <> recount.watchlist_rows
        or abs(
            portfolio.watchlist_share
            - cast(portfolio.watchlist_rows as double precision) / portfolio.portfolio_rows
        ) > 1e-9
        or abs(
            portfolio.lift_vs_baseline
            - portfolio.watchlist_default_rate / portfolio.baseline_default_rate
        ) > 1e-9
    union all
    select
        'segments add up' as failed_check,
        segment_totals.segment_type
    from segment_totals
    cross join portfolio
    where
        segment_totals.portfolio_rows <> portfolio.portfolio_rows
        or segment_totals.watchlist_rows <> portfolio.watchlist_rows
        or abs(
            segment_totals.defaulted_loans - portfolio.baseline_default_rate * portfolio.portfolio_rows
        ) > 1e-6

)

select * from final
