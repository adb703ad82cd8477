-- Prefect's own database beside edi's store, on the first start of the PostgreSQL volume.
CREATE DATABASE prefect OWNER edi;
