with

loans as (

    select * from {{ ref('fct_loans') }}

),

resolved as (

    -- KPIs are measured on loans whose outcome is known; active loans are not "good".
    select * from loans
    where is_resolved

),

segmented as (

    select
        'portfolio' as segment_type,
        'all' as segment,
        is_default,
        is_rule_watchlist
    from resolved
    union all
    select
        'risk_tier' as segment_type,
        risk_tier as segment,
        is_default,
        is_rule_watchlist
    from resolved
    union all
    select
        'grade' as segment_type,
        coalesce(grade, 'unknown') as segment,
        is_default,
        is_rule_watchlist
    from resolved
    union all
    select
        'risk_decile' as segment_type,
        cast(risk_decile as text) as segment,
        is_default,
        is_rule_watchlist
    from resolved
    where risk_decile is not null

),

counts as (

    select
        segment_type,
        segment,
        count(*) as portfolio_rows,
        sum(case when is_default then 1 else 0 end) as portfolio_defaults,
        sum(case when is_rule_watchlist then 1 else 0 end) as watchlist_rows,
        sum(case when is_rule_watchlist and is_default then 1 else 0 end) as watchlist_defaults
    from segmented
    group by segment_type, segment

),

final as (

    select
        segment_type,
        segment,
        cast(portfolio_rows as bigint) as portfolio_rows,
        cast(portfolio_defaults as double precision) / nullif(portfolio_rows, 0)
            as baseline_default_rate,
        cast(watchlist_rows as bigint) as watchlist_rows,
        cast(watchlist_rows as double precision) / nullif(portfolio_rows, 0) as watchlist_share,
        cast(watchlist_defaults as double precision) / nullif(watchlist_rows, 0)
            as watchlist_default_rate,
        (cast(watchlist_defaults as double precision) / nullif(watchlist_rows, 0))
        / nullif(cast(portfolio_defaults as double precision) / nullif(portfolio_rows, 0), 0)
            as lift_vs_baseline
    from counts

)

select * from final
