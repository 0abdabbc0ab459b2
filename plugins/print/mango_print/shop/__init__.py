"""print products, price rules, orders, preflight, production."""
