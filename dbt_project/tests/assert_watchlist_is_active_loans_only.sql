-- The watchlist holds active (unresolved) loans only, every reason code matches its rule,
-- and every active loan that trips a rule is on it.
with

watchlist as (

    select * from {{ ref('early_warning_watchlist') }}

),

loans as (

    select * from {{ ref('fct_loans') }}

),

late_or_grace as (

    -- A resolved loan off the watchlist can break none of the conditions below: only
    -- active loans and the watchlist's own loans need reading.
    select
        *,
        loan_status in ('In Grace Period', 'Late (16-30 days)', 'Late (31-120 days)')
            as is_behind
    from loans
    where
        outcome = 'unresolved'
        or loan_id in (select watchlist.loan_id from watchlist)

),

final as (

    select late_or_grace.loan_id
    from late_or_grace
    left join watchlist on late_or_grace.loan_id = watchlist.loan_id
    where
        (watchlist.loan_id is not null and late_or_grace.outcome <> 'unresolved')
        or (
            watchlist.loan_id is null
            and late_or_grace.outcome = 'unresolved'
            and (
                late_or_grace.is_rule_watchlist
                or late_or_grace.is_behind
                or late_or_grace.is_model_watchlist
            )
        )
        or (watchlist.reason_codes like '%RULE_LEVERAGE_STRESS%')
        <> late_or_grace.is_rule_watchlist
        or (watchlist.reason_codes like '%BEHAVIOUR_%') <> late_or_grace.is_behind
        or (watchlist.reason_codes like '%MODEL_PD%') <> late_or_grace.is_model_watchlist

)

select * from final
