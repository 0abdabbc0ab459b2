"""Selfcare: the customer portal, with its own login, session, look and URLs (``/selfcare/…``).

* :mod:`.models` — accounts, one-time password links, sessions, tariff change requests;
* :mod:`.accounts` — invitations, links, passwords, login and sessions (nothing reveals an account);
* :mod:`.portal` — what a logged-in customer may see and change (always named by the customer);
* :mod:`.tariffs` — tariff change requests, decided by staff in Opcare;
* :mod:`.registration` — self-registration of new customers (off unless a location allows it),
  confirmed by an e-mailed link; its pages are :mod:`.registration_views`;
* :mod:`.access` — the portal's cookie and ``customer_required``, the guard of every portal view
  (the core's and the plugins', whose blueprints ``<plugin>_selfcare`` live under ``/selfcare/<plugin>``);
* :mod:`.menu` — the navigation plugins contribute (``mango_selfcare_menu_items``);
* :mod:`.views` (the portal), :mod:`.staff_views` (Opcare's side), :mod:`.mail`, :mod:`.cli`.
"""
