with

loans as (

    select * from {{ ref('fct_loans') }}

),

banded as (

    -- One row per loan and band kind, so every band shares one set of columns.
    {% for band_kind in ['dti', 'revol_util', 'int_rate'] -%}
        select
            loan_id,
            risk_tier,
            purpose,
            '{{ band_kind }}' as band_kind,
            {{ band_kind }}_band as band,
            outcome
        from loans
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

counts as (

    select
        risk_tier,
        coalesce(purpose, 'unknown') as purpose,
        band_kind,
        band,
        count(*) as loans,
        sum(case when outcome = 'unresolved' then 1 else 0 end) as active_loans,
        sum(case when outcome <> 'unresolved' then 1 else 0 end) as resolved_loans,
        sum(case when outcome = 'default' then 1 else 0 end) as defaulted_loans
    from banded
    group by risk_tier, coalesce(purpose, 'unknown'), band_kind, band

),

final as (

    select
        risk_tier,
        purpose,
        band_kind,
        band,
        cast(loans as bigint) as loans,
        cast(active_loans as bigint) as active_loans,
        cast(resolved_loans as bigint) as resolved_loans,
        cast(defaulted_loans as bigint) as defaulted_loans,
        cast(defaulted_loans as double precision) / nullif(resolved_loans, 0) as default_rate
    from counts

)

select * from final
