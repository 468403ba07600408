with

loans as (

    select * from {{ ref('fct_loans') }}

),

behaviour_scores as (

    select * from {{ ref('int_loans__behaviour_scores') }}

),

cells as (

    -- One pass over the book down to tier x grade x decile; every segment type is then
    -- summed from these few hundred rows. The original's six KPIs count resolved loans (an
    -- active loan is not "good"); the live watchlist's figures count active ones.
    select
        risk_tier,
        coalesce(grade, 'unknown') as grade,
        risk_decile,
        sum(case when is_resolved then 1 else 0 end) as resolved_loans,
        sum(case when is_default then 1 else 0 end) as resolved_defaults,
        sum(case when is_resolved and is_rule_watchlist then 1 else 0 end)
            as resolved_rule_flagged_loans,
        sum(case when is_default and is_rule_watchlist then 1 else 0 end)
            as resolved_rule_flagged_defaults,
        sum(case when is_resolved then funded_amnt else 0 end) as resolved_funded,
        sum(case when is_default then funded_amnt else 0 end) as resolved_defaulted_funded,
        sum(case when not is_resolved then 1 else 0 end) as active_loans,
        sum(case when not is_resolved then coalesce(out_prncp, 0) else 0 end) as active_balance,
        sum(case when not is_resolved and is_flagged then 1 else 0 end) as active_flagged_loans,
        sum(case when not is_resolved and is_rule_watchlist then 1 else 0 end)
            as active_flagged_by_rule,
        sum(case when not is_resolved and is_behind then 1 else 0 end)
            as active_flagged_by_behaviour,
        sum(case when not is_resolved and is_model_flagged then 1 else 0 end)
            as active_flagged_by_model,
        sum(case when not is_resolved and is_flagged then coalesce(out_prncp, 0) else 0 end)
            as active_flagged_balance,
        sum(case when not is_resolved and is_behind then coalesce(out_prncp, 0) else 0 end)
            as active_delinquent_balance,
        sum(
            case
                when not is_resolved and loan_status = 'Late (31-120 days)'
                    then coalesce(out_prncp, 0)
                else 0
            end
        ) as active_30_plus_balance
    from (
        select
            loans.*,
            {{ behaviour_trigger('loans.loan_status') }} as is_behind,
            {{ model_trigger('loans.is_model_watchlist', 'behaviour_scores.behaviour_pd') }}
                as is_model_flagged,
            loans.is_rule_watchlist
            or {{ model_trigger('loans.is_model_watchlist', 'behaviour_scores.behaviour_pd') }}
            or {{ behaviour_trigger('loans.loan_status') }} as is_flagged
        from loans
        left join behaviour_scores on loans.loan_id = behaviour_scores.loan_id
    ) as flagged
    group by risk_tier, coalesce(grade, 'unknown'), risk_decile

),

segmented as (

    select
        'portfolio' as segment_type,
        'all' as segment,
        cells.*
    from cells
    union all
    select
        'risk_tier' as segment_type,
        risk_tier as segment,
        cells.*
    from cells
    union all
    select
        'grade' as segment_type,
        grade as segment,
        cells.*
    from cells
    union all
    select
        'risk_decile' as segment_type,
        cast(risk_decile as text) as segment,
        cells.*
    from cells
    where risk_decile is not null

),

counts as (

    select
        segment_type,
        segment,
        {% for column in [
            'resolved_loans', 'resolved_defaults', 'resolved_rule_flagged_loans',
            'resolved_rule_flagged_defaults', 'resolved_funded', 'resolved_defaulted_funded',
            'active_loans', 'active_balance', 'active_flagged_loans', 'active_flagged_by_rule',
            'active_flagged_by_behaviour', 'active_flagged_by_model', 'active_flagged_balance',
            'active_delinquent_balance', 'active_30_plus_balance'
        ] -%}
            sum({{ column }}) as {{ column }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from segmented
    group by segment_type, segment

),

final as (

    select
        segment_type,
        segment,
        -- The original's six KPIs: the original rule on resolved loans.
        cast(resolved_loans as bigint) as resolved_loans,
        cast(resolved_defaults as double precision) / nullif(resolved_loans, 0)
            as resolved_default_rate,
        cast(resolved_rule_flagged_loans as bigint) as resolved_rule_flagged_loans,
        cast(resolved_rule_flagged_loans as double precision) / nullif(resolved_loans, 0)
            as resolved_rule_flagged_share,
        cast(resolved_rule_flagged_defaults as double precision)
        / nullif(resolved_rule_flagged_loans, 0) as resolved_rule_flagged_default_rate,
        (
            cast(resolved_rule_flagged_defaults as double precision)
            / nullif(resolved_rule_flagged_loans, 0)
        )
        / nullif(cast(resolved_defaults as double precision) / nullif(resolved_loans, 0), 0)
            as resolved_rule_lift,
        cast(resolved_defaulted_funded as double precision) / nullif(resolved_funded, 0)
            as resolved_default_rate_by_balance,
        -- The live watchlist (early_warning_watchlist): active loans.
        cast(active_loans as bigint) as active_loans,
        cast(active_balance as double precision) as active_balance,
        cast(active_flagged_loans as bigint) as active_flagged_loans,
        cast(active_flagged_by_rule as bigint) as active_flagged_by_rule,
        cast(active_flagged_by_behaviour as bigint) as active_flagged_by_behaviour,
        cast(active_flagged_by_model as bigint) as active_flagged_by_model,
        cast(active_flagged_balance as double precision) as active_flagged_balance,
        cast(active_delinquent_balance as double precision) / nullif(active_balance, 0)
            as active_delinquent_balance_rate,
        cast(active_30_plus_balance as double precision) / nullif(active_balance, 0)
            as active_30_plus_balance_rate
    from counts

)

select * from final
