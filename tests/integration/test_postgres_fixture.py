"""The throwaway PostgreSQL cluster is a real server that SQLAlchemy can use."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, text


def test_sqlalchemy_round_trips_rows_through_real_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    meta = MetaData()
    orders = Table("orders", meta, Column("id", Integer, primary_key=True), Column("maker", String(42)))
    meta.create_all(engine)

    with engine.begin() as conn:
        conn.execute(insert(orders), [{"maker": "0xabc"}, {"maker": "0xdef"}])
    with engine.connect() as conn:
        makers = conn.execute(select(orders.c.maker).order_by(orders.c.id)).scalars().all()
        version = conn.execute(text("SHOW server_version")).scalar_one()

    assert makers == ["0xabc", "0xdef"]
    assert int(str(version).split(".")[0]) >= 13
    engine.dispose()


def test_each_test_gets_an_empty_database(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        tables = conn.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        ).scalar_one()
    assert tables == 0
    engine.dispose()
