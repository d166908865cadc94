"""A small inventory module: the sample file `ghostwright demo` completes in."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int


def total_value(items: list[Item]) -> float:
    """Return the total value of all items in stock."""
    return sum(item.price * item.quantity for item in items)


def find_item(items: list[Item], name: str) -> Item | None:
    """Return the first item with the given name, or None."""
    for item in items:
        if item.name == name:
            return item
    return None


def restock(items: list[Item], name: str, amount: int) -> None:
    """Add `amount` units to the item called `name`."""
    item = find_item(items, name)
    if item is None:
        raise KeyError(name)
    item.quantity += amount


def cheapest(items: list[Item]) -> Item:
    """Return the item with the lowest price."""
    return min(items, key=lambda item: item.price)


if __name__ == "__main__":
    stock = [Item("apple", 0.5, 10), Item("pear", 0.75, 4)]
    print(total_value(stock))
