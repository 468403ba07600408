{#- If the watchlist had run over the payment histories: per trigger, how many of the loans
    that defaulted it flagged, how early, how many loans it flagged and how many of those
    defaulted within 12 months. Over every loan open in at least one month of the
    histories (overall, by grade, vintage year and the default's year), under each of two
    definitions of the default month: `charged_off`, the
    loan's first month charged off (the risk team's), and `120_dpd_or_charged_off`, its
    first month 120+ days past due or charged off (the vintage curves'; on LendingClub's
    path a month or two earlier, and it also counts loans 120+ at the window's end). A
    loan's lead is the months from its first flag to its default. precision_12m counts only
    loans first flagged at least 12 months before the histories' last month, whose next 12
    months are all seen. -#}
{%- set open_buckets = "('current', '1-29', '30-59', '60-89', '90-119', 'unknown')" %}

with

history as (

    select * from {{ ref('watchlist_history') }}

),

loan_months as (

    select * from {{ ref('fct_loan_months') }}

),

loans as (

    select * from {{ ref('fct_loans') }}

),

histories as (

    select
        loan_id,
        min(case when dpd_bucket = 'charged_off' then month_date end) as charge_off_month,
        min(case when dpd_bucket in ('120+', 'charged_off') then month_date end)
            as past_due_120_month,
        sum(case when dpd_bucket in {{ open_buckets }} then 1 else 0 end) as open_months,
        min(issue_date) as issue_date,
        min(grade) as grade
    from loan_months
    group by loan_id

),

window_bounds as (

    select
        min(month_date) as window_start,
        max(month_date) as window_end
    from loan_months

),

default_definitions as (

    select 'charged_off' as default_definition
    union all
    select '120_dpd_or_charged_off' as default_definition

),

population as (

    select
        histories.loan_id,
        default_definitions.default_definition,
        case default_definitions.default_definition
            when 'charged_off' then histories.charge_off_month
            else histories.past_due_120_month
        end as default_month,
        coalesce(loans.grade, histories.grade, 'unknown') as grade,
        coalesce(
            cast(extract(year from coalesce(loans.issue_date, histories.issue_date)) as text),
            'unknown'
        ) as vintage_year
    from histories
    cross join default_definitions
    left join loans on histories.loan_id = loans.loan_id
    where histories.open_months > 0

),

triggers as (

    {% for trigger in backtest_triggers() -%}
        select '{{ trigger }}' as trigger_name
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

first_flags as (

    {% for trigger in backtest_triggers() -%}
        select
            loan_id,
            '{{ trigger }}' as trigger_name,
            min(as_of_month) as first_flagged_month
        from history
        where trips_{{ trigger }}
        group by loan_id
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

loan_triggers as (

    select
        population.*,
        -- The default's year ('none' for the loans that did not default): a trigger that
        -- began later (a model's first cutoff) is compared on the years it covered.
        coalesce(cast(extract(year from population.default_month) as text), 'none')
            as default_year,
        triggers.trigger_name,
        first_flags.first_flagged_month,
        window_bounds.window_start,
        window_bounds.window_end,
        cast({{ dbt.datediff('first_flags.first_flagged_month', 'population.default_month', 'month') }} as integer)  -- noqa: LT05
            as lead_months,
        first_flags.first_flagged_month
        <= cast({{ dbt.dateadd('month', -12, 'window_bounds.window_end') }} as date)
            as is_seen_12_months
    from population
    cross join triggers
    cross join window_bounds
    left join first_flags
        on
            population.loan_id = first_flags.loan_id
            and triggers.trigger_name = first_flags.trigger_name

),

segmented as (

    select
        'all' as segment_type,
        'all' as segment,
        loan_triggers.*
    from loan_triggers
    union all
    select
        'grade' as segment_type,
        grade as segment,
        loan_triggers.*
    from loan_triggers
    union all
    select
        'vintage_year' as segment_type,
        vintage_year as segment,
        loan_triggers.*
    from loan_triggers
    union all
    select
        'default_year' as segment_type,
        default_year as segment,
        loan_triggers.*
    from loan_triggers

),

sums as (

    select
        default_definition,
        trigger_name,
        segment_type,
        segment,
        min(window_start) as window_start,
        min(window_end) as window_end,
        count(*) as observed_loans,
        sum(case when default_month is not null then 1 else 0 end) as defaults,  -- noqa: RF04
        sum(case when lead_months >= 1 then 1 else 0 end) as captured_1m_loans,
        sum(case when lead_months >= 3 then 1 else 0 end) as captured_3m_loans,
        sum(case when lead_months >= 6 then 1 else 0 end) as captured_6m_loans,
        {{ median('case when lead_months >= 1 then lead_months end') }} as median_lead_months,
        sum(case when first_flagged_month is not null then 1 else 0 end) as flagged_loans,
        sum(case when is_seen_12_months then 1 else 0 end) as flagged_loans_seen_12m,
        sum(case when is_seen_12_months and lead_months between 1 and 12 then 1 else 0 end)
            as flagged_defaults_12m
    from segmented
    group by default_definition, trigger_name, segment_type, segment

),

final as (

    select
        default_definition,
        trigger_name,
        segment_type,
        segment,
        window_start,
        window_end,
        cast(observed_loans as bigint) as observed_loans,
        cast(defaults as bigint) as defaults,  -- noqa: RF04
        cast(captured_1m_loans as double precision) / nullif(defaults, 0) as captured_1m,
        cast(captured_3m_loans as double precision) / nullif(defaults, 0) as captured_3m,
        cast(captured_6m_loans as double precision) / nullif(defaults, 0) as captured_6m,
        cast(median_lead_months as double precision) as median_lead_months,
        cast(flagged_loans as bigint) as flagged_loans,
        cast(flagged_loans as double precision) / nullif(observed_loans, 0) as flag_rate,
        cast(flagged_loans_seen_12m as bigint) as flagged_loans_seen_12m,
        cast(flagged_defaults_12m as bigint) as flagged_defaults_12m,
        cast(flagged_defaults_12m as double precision) / nullif(flagged_loans_seen_12m, 0)
            as precision_12m
    from sums

)

select * from final
