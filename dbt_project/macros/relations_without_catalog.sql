{#- Relations are written without their database (catalog): `staging.stg_x`, not
    `"warehouse"."staging"."stg_x"`. DuckDB names a file's catalog after the file, so views
    that named it broke in a copy of the warehouse under another name (a backup, one file per
    environment, a CI artefact): `Catalog "warehouse" does not exist`. Unqualified, a view
    reads the database it lives in, whatever its name; Postgres resolves them the same way. -#}
{% macro ref() %}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {{ return(relation.include(database=false) if relation is not string else relation) }}
{% endmacro %}

{% macro source() %}
    {%- set relation = builtins.source(*varargs, **kwargs) -%}
    {{ return(relation.include(database=false) if relation is not string else relation) }}
{% endmacro %}
