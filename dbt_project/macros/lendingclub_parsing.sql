{#- Parsers for the raw string formats of the LendingClub export. Each returns null for an
    empty or malformed value; staging flags those separately so nothing is hidden. -#}

{#- '13.99', ' 10.65%', '65000.0' -> number -#}
{% macro lc_number(expression) -%}
    case
        when {{ text_matches("replace(trim(" ~ expression ~ "), '%', '')", "-?[0-9]+(\\.[0-9]+)?") }}
            then cast(replace(trim({{ expression }}), '%', '') as double precision)
    end
{%- endmacro %}

{#- ' 36 months' -> 36 -#}
{% macro lc_term_months(expression) -%}
    case
        when {{ text_matches("trim(" ~ expression ~ ")", "[0-9]+ months") }}
            then cast(split_part(trim({{ expression }}), ' ', 1) as integer)
    end
{%- endmacro %}

{#- '< 1 year' -> 0, '1 year' -> 1, '10+ years' -> 10, 'n/a' or empty -> null -#}
{% macro lc_emp_length_years(expression) -%}
    case
        when trim({{ expression }}) = '< 1 year' then 0
        when {{ text_matches("trim(" ~ expression ~ ")", "[0-9]+\\+? years?") }}
            then cast(replace(split_part(trim({{ expression }}), ' ', 1), '+', '') as integer)
    end
{%- endmacro %}

{#- A month name ('Mar', 'mar', 'March') -> 1..12 -#}
{% macro lc_month_number(expression) -%}
    case lower(left({{ expression }}, 3))
        when 'jan' then 1 when 'feb' then 2 when 'mar' then 3 when 'apr' then 4
        when 'may' then 5 when 'jun' then 6 when 'jul' then 7 when 'aug' then 8
        when 'sep' then 9 when 'oct' then 10 when 'nov' then 11 when 'dec' then 12
    end
{%- endmacro %}

{#- 'Mar-2017', 'Feb-02' (two-digit year), '18-Dec' (year first) -> first day of the month.
    A two-digit year goes to the century that keeps it at or before `latest_year`
    (an integer expression), so 'Feb-02' is 2002 and 'Oct-62' on a 2015 loan is 1962. -#}
{% macro lc_month_date(expression, latest_year) -%}
    {%- set value = "trim(" ~ expression ~ ")" -%}
    {%- set month_first = text_matches(value, "[A-Za-z]{3}-[0-9]{2}([0-9]{2})?") -%}
    {%- set year_first = text_matches(value, "[0-9]{2}-[A-Za-z]{3}") -%}
    {%- set month_text = "case when " ~ month_first ~ " then split_part(" ~ value ~ ", '-', 1) else split_part(" ~ value ~ ", '-', 2) end" -%}
    {%- set year_text = "case when " ~ month_first ~ " then split_part(" ~ value ~ ", '-', 2) else split_part(" ~ value ~ ", '-', 1) end" -%}
    case
        when ({{ month_first }} or {{ year_first }}) and {{ lc_month_number(month_text) }} is not null
            then make_date(
                case
                    when length({{ year_text }}) = 4 then cast({{ year_text }} as integer)
                    when 2000 + cast({{ year_text }} as integer) <= {{ latest_year }}
                        then 2000 + cast({{ year_text }} as integer)
                    else 1900 + cast({{ year_text }} as integer)
                end,
                {{ lc_month_number(month_text) }},
                1
            )
    end
{%- endmacro %}
