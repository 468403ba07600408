-- The KPIs must agree with each other and with fct_loans: returns a row on any mismatch.
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

final as (

    select kpis.*
    from kpis
    cross join recount
    where
        kpis.portfolio_rows <> recount.portfolio_rows
        or kpis.watchlist_rows <> recount.watchlist_rows
        or abs(
            kpis.watchlist_share - cast(kpis.watchlist_rows as double precision) / kpis.portfolio_rows
        ) > 1e-9
        or abs(kpis.lift_vs_baseline - kpis.watchlist_default_rate / kpis.baseline_default_rate) > 1e-9

)

select * from final
