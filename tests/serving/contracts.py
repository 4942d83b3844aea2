"""The data contract the serving tests check requests against, and a row that keeps it."""

CONTRACT = {
    "dataset": "customers.csv",
    "target": "churned",
    "columns": [
        {"name": "age", "dtype": "int", "nullable": False, "min": 0, "max": 120},
        {"name": "income", "dtype": "float", "nullable": False, "min": 0.0, "max": 1e6},
        {"name": "segment", "dtype": "str", "nullable": False, "allowed": ["a", "b", "c"]},
        {"name": "score", "dtype": "float", "nullable": True},
        {"name": "churned", "dtype": "int", "nullable": False, "allowed": [0, 1]},
    ],
}
GOOD = {"age": 41, "income": 52000.5, "segment": "b", "score": 0.3}
