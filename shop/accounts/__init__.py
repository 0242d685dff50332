"""Accounts: admins and customers, sign-in, the customer's account page and addresses."""
