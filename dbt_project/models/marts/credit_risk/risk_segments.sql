with

loans as (

    select * from {{ ref('fct_loans') }}

),

cells as (

    -- One pass over the book down to the finest cell; the three bandings are then summed
    -- from these few thousand rows instead of three passes over every loan.
    select
        risk_tier,
        coalesce(purpose, 'unknown') as purpose,
        dti_band,
        revol_util_band,
        int_rate_band,
        count(*) as loans,
        sum(case when outcome = 'unresolved' then 1 else 0 end) as active_loans,
        sum(case when outcome <> 'unresolved' then 1 else 0 end) as resolved_loans,
        sum(case when outcome = 'default' then 1 else 0 end) as defaulted_loans
    from loans
    group by
        risk_tier, coalesce(purpose, 'unknown'), dti_band, revol_util_band, int_rate_band

),

banded as (

    -- One row per cell and band kind, so every band shares one set of columns.
    {% for band_kind in ['dti', 'revol_util', 'int_rate'] -%}
        select
            risk_tier,
            purpose,
            '{{ band_kind }}' as band_kind,
            {{ band_kind }}_band as band,
            loans,
            active_loans,
            resolved_loans,
            defaulted_loans
        from cells
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

counts as (

    select
        risk_tier,
        purpose,
        band_kind,
        band,
        sum(loans) as loans,
        sum(active_loans) as active_loans,
        sum(resolved_loans) as resolved_loans,
        sum(defaulted_loans) as defaulted_loans
    from banded
    group by risk_tier, purpose, band_kind, band

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
