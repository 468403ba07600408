{#- A source the pipeline writes later (the ML step's tables): its rows once it exists, until
    then no rows with the same column names, so the models reading it build either way. -#}
{% macro optional_source(source_relation, column_names) %}
    {%- set found = load_relation(source_relation) if execute else none -%}
    {%- if found is not none -%}
        select * from {{ source_relation }}
    {%- else -%}
        select
            {%- for column in column_names %}
                null as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        where 1 = 0
    {%- endif -%}
{% endmacro %}
