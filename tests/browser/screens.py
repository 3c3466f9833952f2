"""Every screen of the app, for the browser tests that visit them all (the security headers,
the accessibility check): (path, test id that shows once its data is there)."""

SCREENS = [
    ("/", "page-title"), ("/orders", "list-row"), ("/orders/10248", "page-title"),
    ("/orders/new", "page-title"), ("/orders/10248/edit", "page-title"),
    ("/orders/10248/invoice", "invoice-order"),
    ("/customers", "list-row"), ("/customers/ALFKI", "page-title"),
    ("/customers/new", "page-title"), ("/customers/ALFKI/edit", "page-title"),
    ("/products", "list-row"), ("/products/1", "page-title"), ("/products/new", "page-title"),
    ("/products/1/edit", "page-title"),
    ("/employees", "list-row"), ("/employees/1", "page-title"),
    ("/suppliers", "list-row"), ("/suppliers/1", "page-title"),
    ("/categories", "list-row"), ("/categories/1", "page-title"),
    ("/shippers", "list-row"), ("/shippers/1", "page-title"),
    ("/users", "page-title"), ("/users/new", "page-title"), ("/users/1", "page-title"),
    ("/audit", "page-title"), ("/account", "page-title"),
]
