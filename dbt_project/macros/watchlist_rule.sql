{#- The original watchlist rule: (dti >= 30 or revol_util >= 80) and (delinq_2yrs > 0 or
    inq_last_6mths >= 2), and its per-condition reasons ('DTI>=30', ...). One place for the
    rule in SQL (ml/serving/rules.py is its Python twin for the stream and the API). Two sets
    of thresholds: the original's, fixed, and the watchlist's, from the dbt variables (equal
    by default), so the backtest (ews_backtest) shows what a change of thresholds gains over
    the original rule. -#}

{% macro original_rule_thresholds() %}
    {{ return({'dti': 30, 'revol_util': 80, 'delinq_2yrs': 1, 'inq_last_6mths': 2}) }}
{% endmacro %}

{% macro watchlist_rule_thresholds() %}
    {{ return({
        'dti': var('watchlist_dti_min'),
        'revol_util': var('watchlist_revol_util_min'),
        'delinq_2yrs': var('watchlist_delinq_2yrs_min'),
        'inq_last_6mths': var('watchlist_inq_last_6mths_min'),
    }) }}
{% endmacro %}

{#- The rule's two halves and the flag, as SQL booleans (never null: an unknown value meets no
    condition), over columns dti, revol_util, delinq_2yrs and inq_last_6mths. -#}
{% macro rule_is_high_leverage(thresholds) -%}
    coalesce(dti >= {{ thresholds.dti }} or revol_util >= {{ thresholds.revol_util }}, false)
{%- endmacro %}

{% macro rule_has_credit_stress(thresholds) -%}
    coalesce(
        delinq_2yrs >= {{ thresholds.delinq_2yrs }}
        or inq_last_6mths >= {{ thresholds.inq_last_6mths }},
        false
    )
{%- endmacro %}

{% macro rule_flag(thresholds) -%}
    ({{ rule_is_high_leverage(thresholds) }} and {{ rule_has_credit_stress(thresholds) }})
{%- endmacro %}

{#- A threshold as its reason code writes it: 30 -> '>=30'; a count's minimum of 1 is the
    original's '>0' ('DELINQ_2YRS>0'). -#}
{% macro _rule_reason(name, threshold) -%}
    {%- if name == 'DELINQ_2YRS' and threshold | float == 1.0 -%}
        {{ name }}>0
    {%- else -%}
        {{ name }}>={{ '%g' | format(threshold | float) }}
    {%- endif -%}
{%- endmacro %}

{#- Every condition of the rule the loan meets, in the rule's order, ';'-separated
    ('DTI>=30;INQ_LAST_6MTHS>=2'); '' when none. -#}
{% macro rule_reason_codes(thresholds) -%}
    trim(
        both ';' from
        case when dti >= {{ thresholds.dti }}
                then ';{{ _rule_reason("DTI", thresholds.dti) }}' else '' end
        || case when revol_util >= {{ thresholds.revol_util }}
                then ';{{ _rule_reason("REVOL_UTIL", thresholds.revol_util) }}' else '' end
        || case when delinq_2yrs >= {{ thresholds.delinq_2yrs }}
                then ';{{ _rule_reason("DELINQ_2YRS", thresholds.delinq_2yrs) }}' else '' end
        || case when inq_last_6mths >= {{ thresholds.inq_last_6mths }}
                then ';{{ _rule_reason("INQ_LAST_6MTHS", thresholds.inq_last_6mths) }}' else '' end
    )
{%- endmacro %}

{#- The rule's tier, with the original's names: Watchlist (both halves), Elevated (one), Low
    (none). -#}
{% macro rule_risk_tier(is_high_leverage, has_credit_stress) -%}
    case
        when {{ is_high_leverage }} and {{ has_credit_stress }} then 'Watchlist'
        when {{ is_high_leverage }} or {{ has_credit_stress }} then 'Elevated'
        else 'Low'
    end
{%- endmacro %}

{#- The watchlist's behaviour trigger: the statuses of an active loan behind on its payments. -#}
{% macro behaviour_trigger(status) -%}
    coalesce({{ status }} in ('In Grace Period', 'Late (16-30 days)', 'Late (31-120 days)'), false)
{%- endmacro %}

{#- The live watchlist's model trigger: the origination PD (fct_loans.is_model_watchlist) or
    the behavioural score of the loan's latest month (int_loans__behaviour_scores). -#}
{% macro model_trigger(is_model_watchlist, behaviour_pd) -%}
    ({{ is_model_watchlist }} or {{ behaviour_model_trigger(behaviour_pd) }})
{%- endmacro %}

{#- The behavioural score's trigger, live or point in time. -#}
{% macro behaviour_model_trigger(behaviour_pd) -%}
    coalesce({{ behaviour_pd }} >= {{ var('watchlist_behaviour_pd_min') }}, false)
{%- endmacro %}

{#- The backtest's triggers: the original rule at its own thresholds, the watchlist's rule,
    behaviour (days past due) and model (the origination PD) triggers, the behavioural score
    (behaviour_model), and any of the last four. -#}
{% macro backtest_triggers() %}
    {{ return(['original_rule', 'rule', 'behaviour', 'model', 'behaviour_model', 'any']) }}
{% endmacro %}

{#- The median of `expression` over a group's rows (nulls ignored). -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{#- Severity's exposure points: one for each `watchlist_exposure_points` threshold the balance
    reaches. -#}
{% macro exposure_points(balance) -%}
    {%- for points_from in var('watchlist_exposure_points') -%}
        (case when coalesce({{ balance }}, 0) >= {{ points_from }} then 1 else 0 end)
        {%- if not loop.last %} + {% endif -%}
    {%- endfor -%}
{%- endmacro %}
