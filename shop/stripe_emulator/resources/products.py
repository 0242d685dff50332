"""Products: ``/v1/products`` (create, retrieve, update, delete, list)."""

from __future__ import annotations

from typing import Any

from ..api import paginate, route
from ..core import Emulator
from ..errors import StripeError, invalid
from ..forms import to_bool, to_dict, to_list, to_str
from ..objects import build_product
from .params import apply_metadata, check_params, opt_str, require, str_list
from .prices import new_price

PRODUCT_FIELDS = {
    "name",
    "active",
    "description",
    "metadata",
    "images",
    "shippable",
    "statement_descriptor",
    "unit_label",
    "url",
    "tax_code",
    "marketing_features",
}


def _product_fields(em: Emulator, product: dict[str, Any], params: dict[str, Any]) -> None:
    if "name" in params:
        product["name"] = to_str(require(params, "name"), "name")
    if "active" in params:
        product["active"] = to_bool(params["active"], "active")
    for key in ("description", "statement_descriptor", "unit_label", "url", "tax_code"):
        if key in params:
            product[key] = opt_str(params, key)
    if "images" in params:
        product["images"] = [to_str(i, "images") for i in to_list(params["images"], "images")]
    if "shippable" in params:
        product["shippable"] = to_bool(params["shippable"], "shippable")
    if "marketing_features" in params:
        product["marketing_features"] = [
            {"name": to_str(to_dict(f, "marketing_features").get("name", ""), "marketing_features")}
            for f in to_list(params["marketing_features"], "marketing_features")
        ]
    if "metadata" in params:
        apply_metadata(product, params["metadata"])
    product["updated"] = em.now()


@route("/v1/products", ["POST"])
def create_product(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(params, PRODUCT_FIELDS | {"id", "default_price_data", "type"})
    name = to_str(require(params, "name"), "name")
    obj_id = params.get("id")
    if obj_id is not None:
        obj_id = to_str(obj_id, "id")
        if obj_id in em.data["products"]:
            raise invalid("id", "Product already exists.", code="resource_already_exists")
    product = build_product(em, name=name, obj_id=obj_id)
    _product_fields(em, product, params)
    em.insert("products", product)
    if "default_price_data" in params:
        data = to_dict(params["default_price_data"], "default_price_data")
        price = new_price(em, {**data, "product": product["id"]}, prefix="default_price_data")
        product["default_price"] = price["id"]
    em.emit("product.created", product)
    return product


@route("/v1/products/<obj_id>", ["GET"])
def retrieve_product(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    return em.get("products", obj_id, "product")


@route("/v1/products/<obj_id>", ["POST"])
def update_product(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    check_params(params, PRODUCT_FIELDS | {"default_price"})
    product = em.get("products", obj_id, "product")
    before = em.render(product)
    _product_fields(em, product, params)
    if "default_price" in params:
        price_id = opt_str(params, "default_price")
        if price_id:
            price = em.get("prices", price_id, "price", "default_price")
            if price["product"] != product["id"]:
                raise invalid("default_price", "The default price must belong to this product.")
        product["default_price"] = price_id
    previous = {k: v for k, v in before.items() if product.get(k) != v and k != "updated"}
    em.emit("product.updated", product, previous)
    return product


@route("/v1/products/<obj_id>", ["DELETE"])
def delete_product(em: Emulator, params: dict[str, Any], obj_id: str) -> Any:
    product = em.get("products", obj_id, "product")
    if any(p["product"] == obj_id for p in em.data["prices"].values()):
        raise StripeError(
            400, "This product cannot be deleted because it has one or more user-created prices."
        )
    product["deleted"] = True
    em.emit("product.deleted", product)
    return {"id": obj_id, "object": "product", "deleted": True}


@route("/v1/products", ["GET"])
def list_products(em: Emulator, params: dict[str, Any]) -> Any:
    check_params(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "active",
            "ids",
            "shippable",
            "url",
            "created",
        },
    )
    active = to_bool(params["active"], "active") if "active" in params else None
    ids = set(str_list(params["ids"], "ids")) if "ids" in params else None
    objects = em.ordered(
        "products",
        lambda p: (active is None or p["active"] == active) and (ids is None or p["id"] in ids),
    )
    return paginate(em, objects, params, "/v1/products")
