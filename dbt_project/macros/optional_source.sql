{#- A source the pipeline writes later (the ML step's tables): its rows once it exists, until
    then no rows with the same column names, so the models reading it build either way. A
    table written by an older release that lacks one of `column_names` gives nulls there
    (the ML step adds the column at its next run). -#}
{% macro optional_source(source_relation, column_names) %}
    {%- set found = load_relation(source_relation) if execute else none -%}
    {%- if found is not none -%}
        {%- set present = [] -%}
        {%- for column in adapter.get_columns_in_relation(found) -%}
            {%- do present.append(column.name | lower) -%}
        {%- endfor %}
        select
            {%- for column in column_names %}
                {{ column if column in present else 'null as ' ~ column }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ source_relation }}
    {%- else -%}
        select
            {%- for column in column_names %}
                null as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        where 1 = 0
    {%- endif -%}
{% endmacro %}
